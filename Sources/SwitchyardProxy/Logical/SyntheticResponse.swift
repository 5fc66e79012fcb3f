import NIOCore
import NIOHTTP1

extension SyntheticError {
    /// The response it stands for (DESIGN.md §7), in `version`: the message in
    /// `switchyard-proxy-error` and, for HTTP, a `text/plain` body; for gRPC, a 200 whose
    /// trailers carry the status and the percent-encoded message.
    func response(isGRPC: Bool, version: HTTPVersion, allocator: ByteBufferAllocator) -> (
        head: HTTPResponseHead, body: ByteBuffer?, trailers: HTTPHeaders?
    ) {
        var headers = HTTPHeaders()
        // Messages may hold names a resolver plugin gave: never let one split the header.
        headers.add(name: "switchyard-proxy-error", value: HeaderText.sanitized(message))
        for (name, value) in self.headers { headers.add(name: name, value: value) }
        if isGRPC {
            headers.add(name: "content-type", value: "application/grpc")
            var trailers = HTTPHeaders()
            trailers.add(name: "grpc-status", value: String(grpcStatus.rawValue))
            trailers.add(name: "grpc-message", value: Self.percentEncode(message))
            return (HTTPResponseHead(version: version, status: .ok, headers: headers), nil, trailers)
        }
        let body = allocator.buffer(string: message)
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(body.readableBytes))
        return (HTTPResponseHead(version: version, status: status, headers: headers), body, nil)
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
