#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// The `tchar`s as a bitmap.
    static let tokens = ASCIISet(isTokenByte)

    /// Whether `bytes` are a token: not empty, every byte a `tchar` (one bit test a byte).
    @inline(__always)
    static func isToken(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let tokens = Self.tokens
        return !bytes.isEmpty && bytes.allSatisfy { tokens.contains($0) }
    }

    /// Whether every byte of `bytes` is a value byte (``isValueByte(_:)``), checked eight at a
    /// time: a word with no byte below 0x20 and none equal to 0x7F is all value bytes; only a
    /// word with one (a tab, most often) is checked byte by byte.
    @inline(__always)
    static func isValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        var offset = 0
        while offset + 8 <= bytes.count {
            let word = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            // A byte below 0x20 (a borrow into its high bit), or one equal to 0x7F (zero after
            // the XOR): bytes from 0x80 up never count (their own high bit masks them out).
            let below = (word &- ones &* 0x20) & ~word & highs
            let flipped = word ^ (ones &* 0x7F)
            let deletes = (flipped &- ones) & ~flipped & highs
            if below | deletes != 0 {
                for index in offset..<offset + 8 where !isValueByte(bytes[index]) { return false }
            }
            offset += 8
        }
        for index in offset..<bytes.count where !isValueByte(bytes[index]) { return false }
        return true
    }

    /// Whether `bytes` are `text`, byte for byte.
    @inline(__always)
    static func equals(_ bytes: UnsafeRawBufferPointer, _ text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount, let base = bytes.baseAddress else { return false }
        return memcmp(base, text.utf8Start, bytes.count) == 0
    }

    /// `byte` with `A`-`Z` in lower case.
    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// Whether `bytes` spell `lowercase` (lower-case ASCII), ignoring ASCII case: header names
    /// and list elements read in place (the parsers, ``FieldLines``, ``HopByHop``).
    @inline(__always)
    static func equalsIgnoringCase<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ lowercase: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == lowercase.count else { return false }
        var offset = 0
        for byte in bytes {
            guard lowercased(byte) == lowercase[offset] else { return false }
            offset += 1
        }
        return true
    }

    /// Whether `bytes` and `name` are the same text ignoring ASCII case in both: a header name
    /// only known at run time (a config's), compared as it was written, or two `Host` values.
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, anyCase name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count == name.count else { return false }
        for offset in 0..<bytes.count where lowercased(bytes[offset]) != lowercased(name[offset]) { return false }
        return true
    }

    /// ``equalsIgnoringCase(_:_:)-(_,UnsafeBufferPointer<UInt8>)`` with a literal.
    @inline(__always)
    static func equalsIgnoringCase<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { equalsIgnoringCase(bytes, $0) }
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
