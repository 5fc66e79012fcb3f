/// What RFC 9113 §8.2 asks of every field in a received HTTP/2 block, checked as
/// ``HTTP2Fields`` converts the block (NIO's own validator is off: it checked every block both
/// ways, 5–8 % of the proxy's time, and the blocks the proxy sends are built from checked ones).
/// A block that breaks a rule is malformed: the stream is reset (a client's) or the response
/// fails with 502 (an upstream's).
enum HTTP2FieldRules {
    /// A regular field's name: a token in lower case (§8.2.1, RFC 9110 §5.6.2).
    static func isName(_ name: UnsafeRawBufferPointer) -> Bool {
        !name.isEmpty && name.allSatisfy(lowercaseToken.contains)
    }

    /// A regular field's value: no space or tab first or last, and no NUL, LF or CR anywhere
    /// (§8.2.1's MUSTs), nor any other control character but tab (its SHOULD: RFC 9110 §5.5
    /// admits none, the proxy's HTTP/1.1 side refuses them, and HTTP/2 peers such as nghttp2
    /// reset a stream that carries one).
    static func isValue(_ value: UnsafeRawBufferPointer) -> Bool {
        guard let first = value.first, let last = value.last else { return true }
        return first != 0x20 && first != 0x09 && last != 0x20 && last != 0x09 && HeaderText.isValue(value)
    }

    /// A pseudo-field's value: no control character, space or DEL (none of the pseudo-fields'
    /// grammars admits one, and each becomes part of an HTTP/1.1 request or status line).
    static func isPseudoValue(_ value: UnsafeRawBufferPointer) -> Bool {
        !value.contains { $0 <= 0x20 || $0 == 0x7F }
    }

    /// A connection-specific field, which HTTP/2 forbids (§8.2.2). `te` is checked apart: a
    /// request may carry `te: trailers`.
    static func isConnectionSpecific(_ name: UnsafeRawBufferPointer) -> Bool {
        // Most names have none of the five lengths: no comparison for them.
        switch name.count {
        case 7: HeaderText.equals(name, "upgrade")
        case 10: HeaderText.equals(name, "connection") || HeaderText.equals(name, "keep-alive")
        case 16: HeaderText.equals(name, "proxy-connection")
        case 17: HeaderText.equals(name, "transfer-encoding")
        default: false
        }
    }

    /// Checks a regular field (`request`: a request's, where `te` may only be `trailers`).
    static func checkField(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, request: Bool) throws(HTTP2Fields.MalformedBlock) {
        guard isName(name) else { throw .init("field name \"\(printable(name))\" is not a lowercase token") }
        guard isValue(value) else { throw .init("field \(printable(name)) has a control character, or a space or tab at an end, in its value") }
        guard !isConnectionSpecific(name) else { throw .init("connection-specific field \(printable(name))") }
        if request, HeaderText.equals(name, "te"), !HeaderText.equals(value, "trailers") { throw .init("te other than trailers") }
    }

    /// A received name as a log may show it: control characters as spaces, and at most
    /// ``printedNameBytes`` bytes (a peer's name may be 16 KiB long).
    static func printable(_ name: UnsafeRawBufferPointer) -> String {
        let shown = HeaderText.sanitized(String(decoding: name.prefix(printedNameBytes), as: UTF8.self))
        return name.count > printedNameBytes ? shown + "..." : shown
    }

    /// The most bytes of a received name an error message shows.
    static let printedNameBytes = 64

    /// The bytes of a lowercase token: RFC 9110's `tchar` without `A`-`Z`.
    private static let lowercaseToken = ASCIISet { HeaderText.isTokenByte($0) && !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
}

/// A set of ASCII bytes as two 64-bit masks: a membership test is a shift and a mask, with no
/// table to load.
struct ASCIISet: Sendable {
    private let low: UInt64
    private let high: UInt64

    /// The ASCII bytes `member` admits.
    init(_ member: (UInt8) -> Bool) {
        var low: UInt64 = 0
        var high: UInt64 = 0
        for byte in UInt8(0)..<64 where member(byte) { low |= 1 << UInt64(byte) }
        for byte in UInt8(64)..<128 where member(byte) { high |= 1 << UInt64(byte - 64) }
        self.low = low
        self.high = high
    }

    @inline(__always)
    func contains(_ byte: UInt8) -> Bool {
        if byte < 64 { return low & (1 << UInt64(byte)) != 0 }
        if byte < 128 { return high & (1 << UInt64(byte - 64)) != 0 }
        return false
    }
}
