import NIOCore
import NIOHTTP1

/// Parses an HTTP/1.x client's bytes into request parts (RFC 9112), in place of NIO's
/// `HTTPRequestDecoder` and its `ByteToMessageHandler`: bytes in (``feed(_:)``), parts out
/// (``next()``), no channel. Lines, fields and bodies are read by an ``HTTP1MessageReader``;
/// this decides what a request's head says and how its body is framed. A head's fields are a
/// slice of the bytes they came in when every line is in ``FieldLines``' form (``FieldLines/Builder``).
///
/// - A request line is `method SP target SP HTTP/1.0|HTTP/1.1`: the method a token, the target
///   visible ASCII. Empty lines before it are skipped (RFC 9112 §2.2).
/// - The body is chunked when the last `transfer-encoding` coding is `chunked`, else
///   `content-length` bytes (every `content-length` the same integer), else there is none.
/// - A head whose body cannot be framed (a `transfer-encoding` beside a `content-length`, or
///   without a final `chunked`) is passed up as it is, for ``RequestValidation`` to refuse by
///   name, and nothing after it is parsed. Nor is anything after a `CONNECT` or a request with
///   an `upgrade` field (what follows may be a tunnel's or another protocol's bytes, not
///   requests; the connection closes after the response), as NIO's decoder stopped too.
/// - Bytes that are not a request throw ``MalformedHTTP1``; the parser stops there.
struct ClientRequestParser {
    private var phase = HTTP1Phase.head
    private var reader = HTTP1MessageReader()
    /// Set by a `CONNECT` or an `upgrade` field: nothing after the request's end is parsed.
    private var stopsAfterRequest = false

    /// Adds bytes read from the client (dropped once the parser stopped).
    mutating func feed(_ bytes: ByteBuffer) {
        reader.feed(bytes)
    }

    /// The next request part the fed bytes hold, or nil when more bytes are needed.
    mutating func next() throws(MalformedHTTP1) -> RequestPart? {
        do {
            let part = try parse()
            reader.releaseIfRead()
            return part
        } catch {
            reader.stop()
            throw error
        }
    }

    private mutating func parse() throws(MalformedHTTP1) -> RequestPart? {
        guard !reader.isStopped else { return nil }
        switch phase {
        case .head:
            var line = RequestLine()
            var framing = FramingFields()
            guard
                let fields = try reader.readHeadLines(
                    startLine: { (bytes) throws(MalformedHTTP1) in line = try RequestLine(bytes) },
                    keeping: { name, value in
                        framing.note(name: name, value: value)
                        return true
                    })
            else { return nil }
            stopsAfterRequest = framing.asksUpgrade
            if case .CONNECT = line.method { stopsAfterRequest = true }
            if framing.lengthIsBad { throw .contentLength }
            if framing.hasCoding {
                if framing.length == nil, framing.chunkedIsLast {
                    reader.startBody(.chunked)
                    phase = .body
                } else {
                    reader.stop()
                }
            } else if let length = framing.length, length > 0 {
                reader.startBody(.length(length))
                phase = .body
            } else {
                phase = .end
            }
            return .head(RequestHead(version: line.version, method: line.method, uri: line.target, fields: fields))
        case .body:
            switch try reader.readBody() {
            case .data(let bytes): return .body(bytes)
            case .end(let trailers):
                return ended(trailers)
            case nil: return nil
            }
        case .end:
            return ended(nil)
        }
    }

    /// The request's end; then the next head, or nothing after a `CONNECT` or an upgrade.
    private mutating func ended(_ trailers: HTTPHeaders?) -> RequestPart {
        phase = .head
        if stopsAfterRequest { reader.stop() }
        return .end(trailers)
    }
}

extension ClientRequestParser {
    /// A request line's method, target and version.
    struct RequestLine {
        var method = HTTPMethod.GET
        var target = ""
        var version = HTTPVersion.http1_1

        init() {}

        /// Parses `method SP target SP HTTP/1.x`: the method a token, the target visible ASCII.
        init(_ line: UnsafeRawBufferPointer) throws(MalformedHTTP1) {
            guard let methodEnd = HTTP1MessageReader.index(of: UInt8(ascii: " "), in: line, from: 0), methodEnd > 0,
                let targetEnd = HTTP1MessageReader.index(of: UInt8(ascii: " "), in: line, from: methodEnd + 1), targetEnd > methodEnd + 1
            else { throw .requestLine }
            let method = UnsafeRawBufferPointer(rebasing: line[0..<methodEnd])
            let target = UnsafeRawBufferPointer(rebasing: line[methodEnd + 1..<targetEnd])
            let version = UnsafeRawBufferPointer(rebasing: line[(targetEnd + 1)...])
            guard method.allSatisfy(HeaderText.isTokenByte), target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .requestLine }
            guard let parsed = HTTP1MessageReader.version(version) else {
                throw HeaderText.equals(UnsafeRawBufferPointer(rebasing: version.prefix(5)), "HTTP/") ? .version : .requestLine
            }
            self.version = parsed
            self.method = HTTPMethod(token: method)
            self.target = String(decoding: target, as: UTF8.self)
        }
    }
}
