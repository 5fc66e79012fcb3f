import NIOCore
import NIOHTTP1

extension SyntheticError {
    /// The response it stands for (DESIGN.md §7), in `version`: the message in
    /// `switchyard-proxy-error` and, for HTTP, a `text/plain` body; for gRPC, a 200 whose
    /// trailers carry the status and the percent-encoded message.
    func response(isGRPC: Bool, version: HTTPVersion, allocator: ByteBufferAllocator) -> (
        head: ResponseHead, body: ByteBuffer?, trailers: HTTPHeaders?
    ) {
        var fields = FieldLines(capacity: 256)
        fields.appendOwn(name: "switchyard-proxy-error", value: message)
        for (name, value) in self.headers { fields.appendOwn(name: name, value: value) }
        if isGRPC {
            fields.appendOwn(name: "content-type", value: "application/grpc")
            var trailers = HTTPHeaders()
            trailers.add(name: "grpc-status", value: String(grpcStatus.rawValue))
            trailers.add(name: "grpc-message", value: Self.percentEncode(message))
            return (ResponseHead(version: version, status: .ok, fields: fields), nil, trailers)
        }
        let body = allocator.buffer(string: message)
        fields.appendOwn(name: "content-type", value: "text/plain; charset=utf-8")
        fields.appendOwn(name: "content-length", value: String(body.readableBytes))
        return (ResponseHead(version: version, status: status, fields: fields), body, nil)
    }

    /// gRPC's percent-encoding of `grpc-message`: bytes outside 0x20-0x7E, and `%`, become `%XX`.
    static func percentEncode(_ message: String) -> String {
        var out = ""
        for byte in message.utf8 {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }
}

extension FieldLines {
    /// Appends a field of the proxy's own answer, its value sanitized: messages may hold names
    /// a resolver plugin gave, and none may split the head. Its names are the proxy's own
    /// tokens, so none is refused (one that were would be left out, never written).
    fileprivate mutating func appendOwn(name: String, value: String) {
        _ = try? append(name: name, value: HeaderText.sanitized(value))
    }
}
