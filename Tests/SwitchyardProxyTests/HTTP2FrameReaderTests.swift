import NIOCore
import NIOHTTP1
import NIOHTTP2
import Testing

@testable import SwitchyardProxy

/// The proxy's own HTTP/2 frame layer, in process: what `HTTP2FrameReader` makes of bytes
/// however they are split, what it refuses and with which code, and the frames
/// `HTTP2FrameWriting` writes read back.
@Suite("HTTP/2 frames")
struct HTTP2FrameReaderTests {
    static func frame(_ type: UInt8, _ flags: UInt8 = 0, stream: Int32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
        let length = UInt32(payload.count)
        return [UInt8(length >> 16), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags]
            + withUnsafeBytes(of: UInt32(bitPattern: stream).bigEndian, Array.init) + payload
    }

    static func uint32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian, Array.init) }

    /// Every frame the bytes hold after the peer's first SETTINGS, fed `step` bytes at a time.
    static func read(_ bytes: [UInt8], step: Int) throws(HTTP2ConnectionError) -> [String] {
        let bytes = frame(0x4) + bytes
        var reader = HTTP2FrameReader()
        var frames: [String] = []
        var offset = 0
        while offset < bytes.count {
            reader.feed(ByteBuffer(bytes: bytes[offset..<min(offset + step, bytes.count)]))
            offset += step
            while let frame = try reader.next() { frames.append(describe(frame)) }
        }
        return Array(frames.dropFirst())
    }

    static func describe(_ frame: HTTP2InboundFrame) -> String {
        switch frame {
        case .data(let stream, let bytes, let endStream, let flowControlled):
            "DATA \(Int(stream)) \(String(buffer: bytes)) end=\(endStream) window=\(flowControlled)"
        case .headers(let stream, let fields, let endStream): "HEADERS \(Int(stream)) \(fields.count) fields end=\(endStream)"
        case .rstStream(let stream, let code): "RST_STREAM \(Int(stream)) \(code.networkCode)"
        case .priority: "PRIORITY"
        case .settings(let payload): "SETTINGS \(payload.readableBytes / 6)"
        case .settingsAck: "SETTINGS ACK"
        case .ping(let data, let ack): "PING \(data) ack=\(ack)"
        case .goAway(let last, let code): "GOAWAY \(Int(last)) \(code.networkCode)"
        case .windowUpdate(let stream, let increment): "WINDOW_UPDATE \(Int(stream)) \(increment)"
        }
    }

    @Test("frames read the same whole and byte by byte: padding and priority fields dropped, CONTINUATIONs joined, unknown types skipped")
    func readsEveryWay() throws {
        let bytes: [[UInt8]] = [
            Self.frame(0x4, stream: 0, Self.uint32(0x0003_0000) + [0, 100]),  // SETTINGS, one entry
            Self.frame(0x4, 0x1),  // SETTINGS ACK
            Self.frame(0x1, 0x20 | 0x8, stream: 1, [2] + [0, 0, 0, 0, 16] + [0x88, 0x89] + [0, 0]),  // HEADERS, padded, with priority
            Self.frame(0x9, 0, stream: 1, [0x8A]),  // CONTINUATION
            Self.frame(0x9, 0x4, stream: 1, [0x8B]),  // CONTINUATION, END_HEADERS
            Self.frame(0x2, stream: 1, [0, 0, 0, 3, 16]),  // PRIORITY
            Self.frame(0xEE, 0xFF, stream: 7, [1, 2, 3]),  // unknown: skipped
            Self.frame(0x0, 0x8 | 0x1, stream: 1, [3] + Array("body".utf8) + [0, 0, 0]),  // DATA, padded, END_STREAM
            Self.frame(0x1, 0x4 | 0x1, stream: 3, [0x88]),  // HEADERS whole
            Self.frame(0x6, stream: 0, [0, 0, 0, 0, 0, 0, 0, 42]),  // PING
            Self.frame(0x8, stream: 3, Self.uint32(1000)),  // WINDOW_UPDATE
            Self.frame(0x3, stream: 3, Self.uint32(8)),  // RST_STREAM CANCEL
            Self.frame(0x7, stream: 0, Self.uint32(3) + Self.uint32(0) + Array("bye".utf8)),  // GOAWAY
        ]
        let expected = [
            "SETTINGS 1", "SETTINGS ACK", "HEADERS 1 4 fields end=false", "PRIORITY", "DATA 1 body end=true window=8", "HEADERS 3 1 fields end=true", "PING 42 ack=false",
            "WINDOW_UPDATE 3 1000", "RST_STREAM 3 8", "GOAWAY 3 0",
        ]
        let all = bytes.flatMap { $0 }
        #expect(try Self.read(all, step: all.count) == expected)
        #expect(try Self.read(all, step: 1) == expected)
        #expect(try Self.read(all, step: 7) == expected)
    }

    static let refusals: [(String, [UInt8], HTTP2ErrorCode)] = [
        ("a frame over 16 KiB", frame(0x0, stream: 1, [UInt8](repeating: 0, count: 16_385)), .frameSizeError),
        ("DATA on stream 0", frame(0x0, stream: 0, [1]), .protocolError),
        ("padding as long as the frame", frame(0x0, 0x8, stream: 1, [4, 1, 2, 3]), .protocolError),
        ("a padded frame without its pad length", frame(0x0, 0x8, stream: 1), .frameSizeError),
        ("HEADERS on stream 0", frame(0x1, 0x4, stream: 0, [0x88]), .protocolError),
        ("a frame between a header block's frames", frame(0x1, 0, stream: 1, [0x88]) + frame(0x0, stream: 1, [1]), .protocolError),
        ("a CONTINUATION on another stream", frame(0x1, 0, stream: 1, [0x88]) + frame(0x9, 0x4, stream: 3, [0x88]), .protocolError),
        ("a CONTINUATION without a header block", frame(0x9, 0x4, stream: 1, [0x88]), .protocolError),
        (
            "a header block past the CONTINUATION bound",
            frame(0x1, 0, stream: 1, [0x88]) + (0...BuiltInLimits.http2ContinuationFrames).flatMap { _ in frame(0x9, 0, stream: 1, [0x88]) }, .enhanceYourCalm
        ),
        (
            "a header block past its byte bound",
            frame(0x1, 0, stream: 1, [UInt8](repeating: 0x88, count: 16_000)) + frame(0x9, 0, stream: 1, [UInt8](repeating: 0x88, count: 1_000)), .enhanceYourCalm
        ),
        ("PUSH_PROMISE", frame(0x5, 0x4, stream: 1, uint32(2) + [0x88]), .protocolError),
        ("PRIORITY of 4 bytes", frame(0x2, stream: 1, [0, 0, 0, 3]), .frameSizeError),
        ("PRIORITY on stream 0", frame(0x2, stream: 0, [0, 0, 0, 3, 16]), .protocolError),
        ("RST_STREAM of 3 bytes", frame(0x3, stream: 1, [0, 0, 8]), .frameSizeError),
        ("RST_STREAM on stream 0", frame(0x3, stream: 0, uint32(8)), .protocolError),
        ("SETTINGS of 5 bytes", frame(0x4, stream: 0, [0, 3, 0, 0, 1]), .frameSizeError),
        ("a SETTINGS acknowledgement with a payload", frame(0x4, 0x1, stream: 0, [0, 3, 0, 0, 0, 1]), .frameSizeError),
        ("SETTINGS on a stream", frame(0x4, stream: 1), .protocolError),
        ("PING of 7 bytes", frame(0x6, stream: 0, [0, 0, 0, 0, 0, 0, 1]), .frameSizeError),
        ("PING on a stream", frame(0x6, stream: 1, [0, 0, 0, 0, 0, 0, 0, 1]), .protocolError),
        ("GOAWAY of 7 bytes", frame(0x7, stream: 0, [0, 0, 0, 0, 0, 0, 0]), .frameSizeError),
        ("GOAWAY on a stream", frame(0x7, stream: 1, uint32(0) + uint32(0)), .protocolError),
        ("WINDOW_UPDATE of 0 on the connection", frame(0x8, stream: 0, uint32(0)), .protocolError),
        ("WINDOW_UPDATE of 5 bytes", frame(0x8, stream: 1, [0, 0, 0, 0, 1]), .frameSizeError),
        ("DATA past the connection's window", (0..<4).flatMap { _ in frame(0x0, stream: 1, [UInt8](repeating: 0, count: 16_384)) }, .flowControlError),
        ("a header block that does not decode", frame(0x1, 0x4, stream: 1, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), .compressionError),
    ]

    @Test("the first frame must be SETTINGS, and not its acknowledgement")
    func settingsFirst() {
        for first in [Self.frame(0x6, stream: 0, [0, 0, 0, 0, 0, 0, 0, 1]), Self.frame(0x4, 0x1), Self.frame(0x1, 0x4, stream: 1, [0x88])] {
            var reader = HTTP2FrameReader()
            reader.feed(ByteBuffer(bytes: first))
            #expect(throws: HTTP2ConnectionError(.protocolError, "the first frame is not SETTINGS")) { try reader.next() }
        }
    }

    @Test("a frame its own bytes make wrong is a connection error with the code RFC 9113 gives it", arguments: refusals.indices)
    func refuses(index: Int) {
        let (name, bytes, code) = Self.refusals[index]
        #expect(throws: HTTP2ConnectionError.self, "\(name)") { try Self.read(bytes, step: bytes.count) }
        do {
            _ = try Self.read(bytes, step: 1)
            Issue.record("\(name): read")
        } catch {
            #expect(error.code == code, "\(name): \(error)")
        }
    }

    @Test("a WINDOW_UPDATE of 0 on a stream is passed on: the stream's error, not the connection's")
    func zeroStreamWindowUpdate() throws {
        #expect(try Self.read(Self.frame(0x8, stream: 5, Self.uint32(0)), step: 1) == ["WINDOW_UPDATE 5 0"])
    }

    @Test("a field block longer than the peer's frame size (5,000 bytes here) goes as HEADERS and CONTINUATIONs, which read back as the block; a short one as one HEADERS")
    func writesHeaderBlocks() throws {
        var long = HTTPResponseHead(version: .http1_1, status: .ok)
        for index in 0..<12 { long.headers.add(name: "x-field-\(index)", value: String(repeating: "v", count: 900)) }
        let longFields = [":status: 200"] + long.headers.map { "\($0.name): \($0.value)" }
        let short = ResponseHead(version: .http1_1, status: .noContent)
        for (head, block, frames) in [(try ResponseHead(long), longFields, 3), (short, [":status: 204"], 1)] {
            var encoder = HTTP2FieldEncoder()
            var bytes = ByteBuffer()
            bytes.writeHTTP2Headers(.response(head), endStream: true, stream: 7, encoder: &encoder, maxFrameBytes: 5_000)
            var reader = HTTP2FrameReader()
            reader.feed(ByteBuffer(bytes: Self.frame(0x4)))
            reader.feed(bytes)
            _ = try reader.next()  // the SETTINGS
            guard case .headers(let stream, let fields, let endStream)? = try reader.next() else {
                Issue.record("no header block")
                continue
            }
            #expect(stream == 7 && endStream)
            #expect(fields.lines == block)
            #expect(try reader.next() == nil)
            var count = 0
            var view = bytes
            while let header = view.readSlice(length: 9), let length = header.getInteger(at: header.readerIndex, as: UInt32.self) {
                view.moveReaderIndex(forwardBy: Int(length >> 8))
                count += 1
            }
            #expect(count == frames)
        }
    }
}
