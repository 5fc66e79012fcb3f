/// What may appear in a header the proxy writes (RFC 9110 §5.1, §5.5; RFC 9112 §3.2).
enum HeaderText {
    /// A `tchar`: the bytes of a token such as a header name or a method.
    @inline(__always)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// A byte of a field value (or a reason phrase): visible ASCII, space, tab, or a byte of
    /// a non-ASCII character. Never CR, LF, NUL or another control character.
    @inline(__always)
    static func isValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    /// A byte a request target may carry as it is (RFC 3986's unreserved, gen-delims,
    /// sub-delims and `%`): everything else, spaces and controls above all, must have been
    /// percent-encoded.
    @inline(__always)
    static func isTargetByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
            UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "["), UInt8(ascii: "]"),
            UInt8(ascii: "@"), UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "="),
            UInt8(ascii: "%"):
            true
        default: false
        }
    }

    /// `text` made safe to write as a field value: control characters become spaces. For
    /// messages built from names a resolver plugin gave (a metadata name may hold anything).
    static func sanitized(_ text: String) -> String {
        guard !text.utf8.allSatisfy(isValueByte) else { return text }
        return String(decoding: text.utf8.map { isValueByte($0) ? $0 : UInt8(ascii: " ") }, as: UTF8.self)
    }
}
