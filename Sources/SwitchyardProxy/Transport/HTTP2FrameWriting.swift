import NIOCore
import NIOHTTP2

/// HTTP/2 frames written as bytes (RFC 9113 §4.1, §6), for a connection that writes its own:
/// every frame of a pass goes into one buffer, and out in one write.
extension ByteBuffer {
    /// The client connection preface (RFC 9113 §3.4).
    static let http2ClientPreface = ByteBuffer(string: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

    /// A frame's 9-byte header.
    mutating func writeHTTP2FrameHeader(length: Int, type: UInt8, flags: UInt8 = 0, stream: HTTP2StreamID = .rootStream) {
        writeInPlace(minimumWritableBytes: Self.http2FrameHeaderBytes) { target in
            guard let base = target.baseAddress else { return 0 }
            Self.storeHTTP2FrameHeader(at: base, length: length, type: type, flags: flags, stream: stream)
            return Self.http2FrameHeaderBytes
        }
    }

    private static let http2FrameHeaderBytes = 9

    /// Stores a frame header's bytes at `target`: the length (24 bits) and type, the flags, the
    /// stream ID, in network byte order.
    @inline(__always)
    private static func storeHTTP2FrameHeader(at target: UnsafeMutableRawPointer, length: Int, type: UInt8, flags: UInt8, stream: HTTP2StreamID) {
        target.storeBytes(of: (UInt32(length) << 8 | UInt32(type)).bigEndian, as: UInt32.self)
        target.storeBytes(of: flags, toByteOffset: 4, as: UInt8.self)
        target.storeBytes(of: UInt32(Int32(stream)).bigEndian, toByteOffset: 5, as: UInt32.self)
    }

    /// A SETTINGS frame with `settings` (identifier, value) in order.
    mutating func writeHTTP2Settings(_ settings: [(UInt16, UInt32)]) {
        writeHTTP2FrameHeader(length: settings.count * 6, type: 0x4)
        for (identifier, value) in settings {
            writeInteger(identifier)
            writeInteger(value)
        }
    }

    /// A SETTINGS acknowledgement.
    mutating func writeHTTP2SettingsAck() {
        writeHTTP2FrameHeader(length: 0, type: 0x4, flags: 0x1)
    }

    /// A PING carrying `data`.
    mutating func writeHTTP2Ping(_ data: UInt64) {
        writeHTTP2FrameHeader(length: 8, type: 0x6)
        writeInteger(data)
    }

    /// A PING acknowledgement carrying `data` back.
    mutating func writeHTTP2PingAck(_ data: UInt64) {
        writeHTTP2FrameHeader(length: 8, type: 0x6, flags: 0x1)
        writeInteger(data)
    }

    /// A WINDOW_UPDATE of `increment` bytes for `stream` (stream 0: the connection).
    mutating func writeHTTP2WindowUpdate(_ increment: Int, stream: HTTP2StreamID = .rootStream) {
        writeHTTP2FrameHeader(length: 4, type: 0x8, stream: stream)
        writeInteger(UInt32(increment))
    }

    /// A RST_STREAM of `stream` with `code`.
    mutating func writeHTTP2Reset(_ code: HTTP2ErrorCode, stream: HTTP2StreamID) {
        writeHTTP2FrameHeader(length: 4, type: 0x3, stream: stream)
        writeInteger(UInt32(http2ErrorCode: code))
    }

    /// A GOAWAY naming `lastStreamID`, with `code`.
    mutating func writeHTTP2GoAway(lastStreamID: HTTP2StreamID, code: HTTP2ErrorCode) {
        writeHTTP2FrameHeader(length: 8, type: 0x7)
        writeInteger(UInt32(Int32(lastStreamID)))
        writeInteger(UInt32(http2ErrorCode: code))
    }

    /// The header of a DATA frame of `length` bytes; its data follows.
    mutating func writeHTTP2DataHeader(length: Int, endStream: Bool, stream: HTTP2StreamID) {
        writeHTTP2FrameHeader(length: length, type: 0x0, flags: endStream ? 0x1 : 0, stream: stream)
    }

    /// A field block as HEADERS, and CONTINUATIONs when it is longer than `maxFrameBytes`,
    /// encoded here, in the order blocks go out (a size update the encoder owes goes in the
    /// first block after it is owed, RFC 7541 §4.2).
    mutating func writeHTTP2Headers(
        _ block: HTTP2FieldBlock, endStream: Bool, stream: HTTP2StreamID, encoder: inout HTTP2FieldEncoder, maxFrameBytes: Int
    ) {
        let start = writerIndex
        writeHTTP2FrameHeader(length: 0, type: 0x1, stream: stream)  // set once the block's length is known
        encoder.begin(&self)
        block.append(to: &self)
        let length = writerIndex - start - Self.http2FrameHeaderBytes
        let endStreamFlag: UInt8 = endStream ? 0x1 : 0
        guard length > maxFrameBytes else {
            withVeryUnsafeMutableBytes { storage in
                guard let base = storage.baseAddress else { return }
                Self.storeHTTP2FrameHeader(at: base + start, length: length, type: 0x1, flags: endStreamFlag | 0x4, stream: stream)
            }
            return
        }
        // Rare: the block is split. The slice keeps the encoded bytes while they are framed
        // again over them (the first write copies this buffer's storage).
        guard var encoded = getSlice(at: start + Self.http2FrameHeaderBytes, length: length) else { return }
        moveWriterIndex(to: start)
        var type: UInt8 = 0x1
        while encoded.readableBytes > 0, let fragment = encoded.readSlice(length: Swift.min(maxFrameBytes, encoded.readableBytes)) {
            let last = encoded.readableBytes == 0
            writeHTTP2FrameHeader(length: fragment.readableBytes, type: type, flags: (type == 0x1 ? endStreamFlag : 0) | (last ? 0x4 : 0), stream: stream)
            writeImmutableBuffer(fragment)
            type = 0x9
        }
    }
}
