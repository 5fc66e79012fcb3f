import NIOCore
import NIOHTTP1

/// Parses an HTTP/1.x upstream's bytes into response parts (RFC 9112), in place of NIO's
/// `HTTPResponseDecoder` and its `ByteToMessageHandler`: the request sent (``requestSent(_:)``)
/// and bytes in (``feed(_:)``), parts out (``next()``). Lines, fields and bodies are read by an
/// ``HTTP1MessageReader``; this decides what a response's head says and how its body is framed.
///
/// - A status line is `HTTP/1.0|HTTP/1.1 SP 3DIGIT [SP reason]`, the reason free of control
///   characters other than tab.
/// - A 1xx other than 101 is interim: its head goes up alone and the final response follows.
///   A 101 is refused: the proxy never asks to switch protocols (it drops `Upgrade`).
/// - A response to HEAD, a 204 and a 304 have no body (RFC 9112 §6.3); otherwise the body is
///   chunked when its `transfer-encoding` is `chunked`, is `content-length` bytes (every
///   `content-length` the same integer), or without either runs until the connection closes
///   (``inputEnded()``). Both a `content-length` and a `transfer-encoding` are refused (a
///   response framed two ways is how smuggling starts), and so is any other transfer coding:
///   the proxy re-frames the body, so a coding it cannot take off would reach the client as
///   bytes nobody said were coded (nginx and Apache Traffic Server refuse them too).
/// - Hop-by-hop fields and the names `Connection` lists are dropped as they are read
///   (``HopByHop/Tally``): the head that goes up is the one to forward.
/// - Bytes that are not a response, and any byte while no request waits for one (a response
///   nobody asked for, on an idle pooled connection or before the request went out), throw
///   ``MalformedHTTP1``; the parser stops there.
/// - A connection that cannot carry another exchange once a response ends is *spent*
///   (``isSpent``, set as that end is returned): the response did not keep it alive (a
///   `close`, HTTP/1.0 without `keep-alive`, a body that ran until the close), bytes already
///   came after the response (an upstream that sent more than it framed; parsed on, they would
///   be the next client's response), the response was a 2xx to `CONNECT` (a tunnel), or an
///   HTTP/1.0 response came with a `transfer-encoding` (RFC 9112 §6.1). Nothing more is parsed.
///
/// The proxy sends one request at a time on an upstream connection, so the parser remembers
/// only what the method of the one in flight means for its response's framing.
struct UpstreamResponseParser {
    private var phase = HTTP1Phase.head
    private var reader = HTTP1MessageReader()
    /// What the request waiting for its response asked, as far as its framing goes; nil when
    /// none waits.
    private var awaited: Request?

    /// The methods whose responses are framed apart (RFC 9112 §6.3).
    private enum Request {
        case head, connect, other
    }
    /// Set by a head after whose response the connection must not carry another exchange.
    private var closesAfterResponse = false
    /// Set when a response ended and the connection must not carry another exchange.
    private(set) var isSpent = false

    /// The head of the request the next response answers went out.
    mutating func requestSent(_ method: HTTPMethod) {
        switch method {
        case .HEAD: awaited = .head
        case .CONNECT: awaited = .connect
        default: awaited = .other
        }
    }

    /// Adds bytes read from the upstream (dropped once the parser stopped).
    mutating func feed(_ bytes: ByteBuffer) {
        reader.feed(bytes)
    }

    /// The next response part the fed bytes hold, or nil when more bytes are needed.
    mutating func next() throws(MalformedHTTP1) -> UpstreamResponsePart? {
        do {
            let part = try parse()
            if case .end? = part, closesAfterResponse || reader.hasUnreadBytes {
                isSpent = true
                reader.stop()
            }
            reader.releaseIfRead()
            return part
        } catch {
            reader.stop()
            throw error
        }
    }

    /// The upstream closed: the end of a response that runs until the close, or nil.
    mutating func inputEnded() -> UpstreamResponsePart? {
        guard case .body = phase, case .end(let trailers)? = reader.inputEnded() else { return nil }
        reader.stop()
        isSpent = true
        return .end(trailers)
    }

    private mutating func parse() throws(MalformedHTTP1) -> UpstreamResponsePart? {
        guard !reader.isStopped else { return nil }
        switch phase {
        case .head:
            guard let request = awaited else {
                if reader.hasUnreadBytes { throw .unsolicited }
                return nil
            }
            var line = StatusLine()
            var framing = FramingFields()
            var hopByHop = HopByHop.Tally()
            guard
                var fields = try reader.readHeadLines(
                    startLine: { (bytes) throws(MalformedHTTP1) in line = try StatusLine(bytes) },
                    keeping: { name, value in
                        framing.note(name: name, value: value)
                        return hopByHop.keep(name: name, value: value)
                    })
            else { return nil }
            hopByHop.dropListed(from: &fields)
            let head = ResponseHead(version: line.version, status: line.status, fields: fields)
            let code = line.status.code
            switch code {
            case 101: throw .switchingProtocols
            case 100..<200: return .head(head)  // interim: the final head follows
            case 200..<300 where request == .connect:
                closesAfterResponse = true
                phase = .end
            case 204, 304: phase = .end
            default:
                if request == .head {
                    phase = .end
                } else {
                    try startBody(framing)
                    if framing.hasCoding, line.version == .http1_0 { closesAfterResponse = true }
                }
            }
            if !hopByHop.keepsAlive(version: line.version) { closesAfterResponse = true }
            awaited = nil
            return .head(head)
        case .body:
            switch try reader.readBody() {
            case .data(let bytes): return .body(bytes)
            case .end(let trailers):
                phase = .head
                return .end(trailers)
            case nil: return nil
            }
        case .end:
            phase = .head
            return .end(nil)
        }
    }

    /// Frames the body of a response that has one.
    private mutating func startBody(_ framing: FramingFields) throws(MalformedHTTP1) {
        if framing.lengthIsBad { throw .contentLength }
        if framing.hasCoding {
            if framing.length != nil { throw .lengthAndCoding }
            guard framing.isChunkedAlone else { throw .transferCoding }
            reader.startBody(.chunked)
            phase = .body
        } else if let length = framing.length {
            if length == 0 {
                phase = .end
            } else {
                reader.startBody(.length(length))
                phase = .body
            }
        } else {
            reader.startBody(.untilClose)
            phase = .body
        }
        if case .body = phase, reader.runsUntilClose { closesAfterResponse = true }
    }
}

extension UpstreamResponseParser {
    /// A status line's version and status.
    struct StatusLine {
        var version = HTTPVersion.http1_1
        var status = HTTPResponseStatus.ok

        init() {}

        /// Parses `HTTP/1.x SP 3DIGIT [SP reason]`.
        init(_ line: UnsafeRawBufferPointer) throws(MalformedHTTP1) {
            guard let version = HTTP1MessageReader.version(UnsafeRawBufferPointer(rebasing: line.prefix(8))) else {
                throw HeaderText.equals(UnsafeRawBufferPointer(rebasing: line.prefix(5)), "HTTP/") ? .version : .statusLine
            }
            guard line.count >= 12, line[8] == UInt8(ascii: " "), line.count == 12 || line[12] == UInt8(ascii: " ") else { throw .statusLine }
            var code = 0
            for byte in line[9..<12] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { throw .statusLine }
                code = code * 10 + Int(byte - UInt8(ascii: "0"))
            }
            guard code >= 100 else { throw .statusLine }
            let reason = line.count > 13 ? UnsafeRawBufferPointer(rebasing: line[13...]) : UnsafeRawBufferPointer(start: nil, count: 0)
            guard reason.allSatisfy(HeaderText.isValueByte) else { throw .statusLine }
            self.version = version
            // A known code keeps NIO's own status (and reason phrase); others keep theirs.
            self.status = HTTPResponseStatus(statusCode: code)
            if case .custom = self.status {
                self.status = HTTPResponseStatus(statusCode: code, reasonPhrase: String(decoding: reason, as: UTF8.self))
            }
        }
    }
}
