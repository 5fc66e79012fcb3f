import NIOHTTP1

/// How the proxy frames a request body upstream. The client's framing headers are never
/// forwarded as they came: the proxy reads the body with the client's framing and writes it
/// with its own, so what the upstream sees as one request is exactly what the client sent as
/// one request, whatever `Connection` named and whatever the method.
enum RequestBodyFraming: Equatable {
    /// No body: nothing follows the head.
    case none
    /// `content-length: N`.
    case length(Int)
    /// Length unknown until the end: chunked to an HTTP/1.1 upstream, DATA frames to HTTP/2.
    case stream
    /// An HTTP/2 request without `content-length`: decided by its first part (an end at once
    /// is no body, DATA is a stream).
    case undecided

    /// The framing of a client's request head, read before hop-by-hop headers are removed;
    /// nil when its `content-length` is malformed (not one non-negative integer, or values
    /// that disagree: RFC 9110 §8.6).
    init?(clientHead head: RequestHead) {
        switch Self.contentLength(of: head.fields) {
        case .malformed:
            return nil
        case .length(let length):
            self = .length(length)
        case .absent:
            if head.version.major < 2, head.fields.contains(name: "transfer-encoding") {
                // The HTTP/1.1 parser reads a body only after a final `chunked` and never beside a
                // content-length (validation refuses the rest): a body of unknown length.
                self = .stream
            } else {
                self = .unframed(head.version)
            }
        }
    }

    /// The framing of a request with neither `content-length` nor `transfer-encoding`.
    static func unframed(_ version: HTTPVersion) -> RequestBodyFraming {
        version.major >= 2 ? .undecided : .none
    }

    /// What a head's `content-length` fields say.
    enum LengthFields: Equatable {
        case absent
        case length(Int)
        /// Not a list of one non-negative integer (at most 18 digits) repeated.
        case malformed
    }

    /// Reads every `content-length` field's comma-separated elements in place (no list or
    /// substring is built): all must be the same decimal number (RFC 9110 §8.6).
    static func contentLength(of fields: FieldLines) -> LengthFields {
        var length: Int?
        var agrees = true
        fields.forEach { name, value in
            if agrees, HeaderText.equalsIgnoringCase(name, "content-length") { agrees = note(value, into: &length) }
        }
        guard agrees else { return .malformed }
        return length.map { .length($0) } ?? .absent
    }

    /// Reads one `content-length` value (a list of lengths) into `length`; false when it is not
    /// one, or says another length than `length` already holds.
    private static func note(_ bytes: UnsafeRawBufferPointer, into length: inout Int?) -> Bool {
        var index = 0
        while true {
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
            var element = 0
            var digits = 0
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                guard digits < 18 else { return false }
                element = element * 10 + Int(bytes[index] - UInt8(ascii: "0"))
                digits += 1
                index += 1
            }
            while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
            guard digits > 0, length == nil || length == element else { return false }
            length = element
            guard index < bytes.count else { return true }
            guard bytes[index] == UInt8(ascii: ",") else { return false }
            index += 1
        }
    }

    /// Decides an ``undecided`` framing from the request's first part after the head.
    mutating func decide(firstPart part: RequestPart) {
        guard self == .undecided else { return }
        if case .end = part { self = .none } else { self = .stream }
    }

    /// Writes this framing into the fields of the head sent upstream (over HTTP/1.1 when
    /// `http1`).
    func apply(to fields: inout FieldLines, http1: Bool) {
        // The common case, a client's one `content-length` as the proxy would write it, stays.
        if case .length(let length) = self, Self.holdsOnly(length, fields) { return }
        // One pass; the lines are copied only when one goes.
        fields.removeAll { name in
            HeaderText.equalsIgnoringCase(name, "content-length") || HeaderText.equalsIgnoringCase(name, "transfer-encoding")
        }
        switch self {
        case .length(let length):
            var digits = String(length)
            digits.withUTF8 { fields.appendChecked(name: "content-length", value: UnsafeRawBufferPointer($0)) }
        case .stream where http1: fields.replaceOrAdd(name: "transfer-encoding", value: "chunked")
        case .stream, .none, .undecided: break
        }
    }

    /// Whether `fields` frame a body only with one `content-length` of `length` in plain
    /// decimal.
    private static func holdsOnly(_ length: Int, _ fields: FieldLines) -> Bool {
        var lengths = 0
        var plain = true
        fields.forEach { name, value in
            if HeaderText.equalsIgnoringCase(name, "transfer-encoding") { plain = false }
            guard HeaderText.equalsIgnoringCase(name, "content-length") else { return }
            lengths += 1
            if lengths > 1 || !Self.spells(length, value) { plain = false }
        }
        return plain && lengths == 1
    }

    /// Whether `bytes` are `length` in decimal, without a leading zero (but `0` itself).
    private static func spells(_ length: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var rest = length
        var index = bytes.count
        repeat {
            index -= 1
            guard index >= 0, bytes[index] == UInt8(ascii: "0") + UInt8(rest % 10) else { return false }
            rest /= 10
        } while rest > 0
        return index == 0
    }
}
