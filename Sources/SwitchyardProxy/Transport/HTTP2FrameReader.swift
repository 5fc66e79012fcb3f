import NIOCore
import NIOHTTP2

/// An HTTP/2 connection error (RFC 9113 §5.4.1): the code of the GOAWAY that ends the
/// connection, and why, for the log.
struct HTTP2ConnectionError: Error, Equatable, CustomStringConvertible {
    let code: HTTP2ErrorCode
    let reason: String

    init(_ code: HTTP2ErrorCode, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    var description: String { "HTTP/2 connection error \(code): \(reason)" }
}

/// A frame as ``HTTP2FrameReader`` hands it on: checked for what its own bytes must say, its
/// padding and priority fields dropped, a header block whole (its CONTINUATIONs joined).
enum HTTP2InboundFrame {
    /// DATA: `bytes` is its data; `flowControlled` what it takes of the receive windows (its
    /// whole payload, padding included, RFC 9113 §6.9.1).
    case data(stream: HTTP2StreamID, bytes: ByteBuffer, endStream: Bool, flowControlled: Int)
    /// HEADERS and any CONTINUATIONs: the field block, decoded (its storage is the reader's
    /// again once the frame is let go).
    case headers(stream: HTTP2StreamID, fields: HTTP2ReceivedFields, endStream: Bool)
    case rstStream(stream: HTTP2StreamID, code: HTTP2ErrorCode)
    /// PRIORITY: nothing in it matters to the proxy (RFC 9113 §5.3.2), but a peer may send
    /// too many.
    case priority
    /// SETTINGS (not an acknowledgement): `payload` is its 6-byte entries
    /// (``HTTP2FrameReader/settings(_:)`` reads them).
    case settings(payload: ByteBuffer)
    case settingsAck
    case ping(UInt64, ack: Bool)
    case goAway(lastStreamID: HTTP2StreamID, code: HTTP2ErrorCode)
    /// WINDOW_UPDATE. An increment of 0 on a stream is passed on (a stream error, §6.9); on
    /// the connection it is a connection error here.
    case windowUpdate(stream: HTTP2StreamID, increment: Int)
}

/// Reads HTTP/2 frames from the bytes of one connection (RFC 9113 §4, §6), in place: a frame's
/// payload is a slice of the read buffer, never copied, except a header block that came split
/// over CONTINUATIONs. Every header block is decoded as it is read, whatever its stream, so
/// HPACK's table stays the peer's (RFC 7541 §2.3.2); the connection's receive window is
/// counted down by each DATA frame and given back by the connection at the end of each read
/// (``windowUpdate()``), so it catches a peer that ignores it only within one read: the
/// streams' windows, given back as their exchanges take the bytes, are what bound memory.
///
/// What a frame's own bytes must say is checked here, and a violation is a connection error
/// (``HTTP2ConnectionError``): a first frame that is not SETTINGS (§3.4), a frame over the
/// size announced (FRAME_SIZE_ERROR), DATA past the connection's window (FLOW_CONTROL_ERROR),
/// a header block that does not decode or decodes past ``BuiltInLimits/http2HeaderListBytes``
/// (COMPRESSION_ERROR), a length its
/// type does not allow, a stream ID its type does not allow (a connection-level frame on a
/// stream, a stream's frame on stream 0), padding as long as the frame, a CONTINUATION out of
/// place or anything between a header block's frames (PROTOCOL_ERROR), and a PUSH_PROMISE: the
/// proxy announces no push, and a client may not push. Frames of unknown types are dropped
/// (RFC 9113 §5.5).
///
/// A header block is bounded: it may span at most ``BuiltInLimits/http2ContinuationFrames``
/// CONTINUATIONs and ``BuiltInLimits/http2HeaderListBytes`` encoded bytes, past which it is a
/// flood (ENHANCE_YOUR_CALM). What the frames mean to streams and windows is the connection's.
struct HTTP2FrameReader {
    /// A frame header's bytes.
    static let headerBytes = 9
    /// The largest frame the proxy accepts: SETTINGS_MAX_FRAME_SIZE's initial value, which
    /// it never raises.
    static let maxFrameBytes = 16_384

    private enum Kind: UInt8 {
        case data = 0x0, headers = 0x1, priority = 0x2, rstStream = 0x3, settings = 0x4
        case pushPromise = 0x5, ping = 0x6, goAway = 0x7, windowUpdate = 0x8, continuation = 0x9
    }

    private enum Flag {
        static let endStream: UInt8 = 0x1
        static let ack: UInt8 = 0x1
        static let endHeaders: UInt8 = 0x4
        static let padded: UInt8 = 0x8
        static let priority: UInt8 = 0x20
    }

    /// A header block whose CONTINUATIONs are still to come.
    private struct OpenBlock {
        var stream: HTTP2StreamID
        var endStream: Bool
        var bytes: ByteBuffer
        var continuations = 0
    }

    /// Bytes fed and not read yet; nil when there are none (an idle connection holds none).
    private var buffer: ByteBuffer?
    private var block: OpenBlock?
    /// Set while the client connection preface is still to be read (a server's reader).
    private var expectsPreface: Bool
    /// Set once the peer's first frame, its SETTINGS, came.
    private var settingsRead = false
    private var decoder = HTTP2FieldDecoder(maxListSize: BuiltInLimits.http2HeaderListBytes)
    /// What the peer may still send on the connection.
    private var receiveWindow = HTTP2ReceiveWindow.connection

    /// - Parameter expectingPreface: whether the bytes start with the client connection
    ///   preface (RFC 9113 §3.4), as a server's do; anything else there is a PROTOCOL_ERROR.
    init(expectingPreface: Bool = false) {
        expectsPreface = expectingPreface
    }

    /// Adds bytes read from the connection. Behind frames read already, a frame that came in
    /// part moves to fresh storage with room to grow, and the bytes join it there: only unread
    /// bytes are carried (the storage read from may still be held by DATA slices handed on),
    /// and a frame that trickles in grows in place.
    mutating func feed(_ bytes: ByteBuffer) {
        guard var rest = buffer, rest.readableBytes > 0 else {
            buffer = bytes
            return
        }
        buffer = nil  // keeps the storage uniquely referenced while appending
        if rest.readerIndex > 0 {
            var joined = ByteBufferAllocator().buffer(capacity: max(2 * (rest.readableBytes + bytes.readableBytes), 1024))
            joined.writeBuffer(&rest)
            rest = joined
        }
        rest.writeImmutableBuffer(bytes)
        buffer = rest
    }

    /// The next frame the fed bytes hold, or nil when more bytes are needed.
    mutating func next() throws(HTTP2ConnectionError) -> HTTP2InboundFrame? {
        if expectsPreface {
            let preface = ByteBuffer.http2ClientPreface
            guard var bytes = buffer, let start = bytes.readSlice(length: min(preface.readableBytes, bytes.readableBytes)) else { return nil }
            guard start == preface.getSlice(at: preface.readerIndex, length: start.readableBytes) else { throw .init(.protocolError, "not the HTTP/2 client preface") }
            guard start.readableBytes == preface.readableBytes else { return nil }
            expectsPreface = false
            buffer = bytes.readableBytes == 0 ? nil : bytes
        }
        while var bytes = buffer {
            guard let word = bytes.readInteger(as: UInt32.self), let flags = bytes.readInteger(as: UInt8.self), let streamWord = bytes.readInteger(as: UInt32.self) else { return nil }
            let length = Int(word >> 8)
            guard length <= Self.maxFrameBytes else { throw .init(.frameSizeError, "a frame of \(length) bytes") }
            guard let payload = bytes.readSlice(length: length) else { return nil }
            buffer = bytes.readableBytes == 0 ? nil : bytes
            let stream = HTTP2StreamID(Int32(bitPattern: streamWord & 0x7FFF_FFFF))
            let type = UInt8(truncatingIfNeeded: word)
            if !settingsRead {
                guard type == 0x4, flags & Flag.ack == 0 else { throw .init(.protocolError, "the first frame is not SETTINGS") }
                settingsRead = true
            }
            if let frame = try frame(type: type, flags: flags, stream: stream, payload: payload) { return frame }
        }
        return nil
    }

    /// The WINDOW_UPDATE increment that gives the connection's window back, counted as sent,
    /// once less than half of it is left; nil while more is.
    mutating func windowUpdate() -> Int? {
        guard let increment = HTTP2ReceiveWindow.increment(open: receiveWindow, target: HTTP2ReceiveWindow.connection) else { return nil }
        receiveWindow += increment
        return increment
    }

    /// Reads each entry of a SETTINGS frame's payload.
    static func settings(_ payload: ByteBuffer, _ body: (_ identifier: UInt16, _ value: UInt32) throws(HTTP2ConnectionError) -> Void) throws(HTTP2ConnectionError) {
        var payload = payload
        while let identifier = payload.readInteger(as: UInt16.self), let value = payload.readInteger(as: UInt32.self) {
            try body(identifier, value)
        }
    }

    private mutating func frame(type: UInt8, flags: UInt8, stream: HTTP2StreamID, payload: ByteBuffer) throws(HTTP2ConnectionError) -> HTTP2InboundFrame? {
        let kind = Kind(rawValue: type)
        if var open = block {
            guard kind == .continuation, stream == open.stream else { throw .init(.protocolError, "a frame inside a header block") }
            open.continuations += 1
            guard open.continuations <= BuiltInLimits.http2ContinuationFrames, open.bytes.readableBytes + payload.readableBytes <= BuiltInLimits.http2HeaderListBytes
            else { throw .init(.enhanceYourCalm, "a header block over \(BuiltInLimits.http2ContinuationFrames) CONTINUATIONs or \(BuiltInLimits.http2HeaderListBytes) bytes") }
            var payload = payload
            block = nil  // keeps the storage uniquely referenced while appending
            open.bytes.writeBuffer(&payload)
            guard flags & Flag.endHeaders != 0 else {
                block = open
                return nil
            }
            return .headers(stream: open.stream, fields: try decode(open.bytes), endStream: open.endStream)
        }
        let length = payload.readableBytes
        switch kind {
        case .data:
            guard stream != .rootStream else { throw .init(.protocolError, "DATA on stream 0") }
            receiveWindow -= length
            guard receiveWindow >= 0 else { throw .init(.flowControlError, "DATA past the connection's window") }
            let bytes = try Self.unpadded(payload, flags: flags, skipping: 0)
            return .data(stream: stream, bytes: bytes, endStream: flags & Flag.endStream != 0, flowControlled: length)
        case .headers:
            guard stream != .rootStream else { throw .init(.protocolError, "HEADERS on stream 0") }
            let fragment = try Self.unpadded(payload, flags: flags, skipping: flags & Flag.priority != 0 ? 5 : 0)
            let endStream = flags & Flag.endStream != 0
            guard flags & Flag.endHeaders != 0 else {
                guard fragment.readableBytes <= BuiltInLimits.http2HeaderListBytes else { throw .init(.enhanceYourCalm, "a header block over \(BuiltInLimits.http2HeaderListBytes) bytes") }
                var bytes = ByteBuffer()
                bytes.reserveCapacity(fragment.readableBytes * 2)
                bytes.writeImmutableBuffer(fragment)
                block = OpenBlock(stream: stream, endStream: endStream, bytes: bytes)
                return nil
            }
            return .headers(stream: stream, fields: try decode(fragment), endStream: endStream)
        case .priority:
            guard stream != .rootStream else { throw .init(.protocolError, "PRIORITY on stream 0") }
            guard length == 5 else { throw .init(.frameSizeError, "PRIORITY of \(length) bytes") }
            return .priority
        case .rstStream:
            guard stream != .rootStream else { throw .init(.protocolError, "RST_STREAM on stream 0") }
            guard length == 4, let code = Self.uint32(payload, at: 0) else { throw .init(.frameSizeError, "RST_STREAM of \(length) bytes") }
            return .rstStream(stream: stream, code: HTTP2ErrorCode(networkCode: Int(code)))
        case .settings:
            guard stream == .rootStream else { throw .init(.protocolError, "SETTINGS on a stream") }
            if flags & Flag.ack != 0 {
                guard length == 0 else { throw .init(.frameSizeError, "a SETTINGS acknowledgement with a payload") }
                return .settingsAck
            }
            guard length % 6 == 0 else { throw .init(.frameSizeError, "SETTINGS of \(length) bytes") }
            return .settings(payload: payload)
        case .pushPromise:
            throw .init(.protocolError, "PUSH_PROMISE, with push off")
        case .ping:
            guard stream == .rootStream else { throw .init(.protocolError, "PING on a stream") }
            guard length == 8, let data = payload.getInteger(at: payload.readerIndex, as: UInt64.self) else { throw .init(.frameSizeError, "PING of \(length) bytes") }
            return .ping(data, ack: flags & Flag.ack != 0)
        case .goAway:
            guard stream == .rootStream else { throw .init(.protocolError, "GOAWAY on a stream") }
            guard let last = Self.uint32(payload, at: 0), let code = Self.uint32(payload, at: 4) else { throw .init(.frameSizeError, "GOAWAY of \(length) bytes") }
            return .goAway(lastStreamID: HTTP2StreamID(Int32(bitPattern: last & 0x7FFF_FFFF)), code: HTTP2ErrorCode(networkCode: Int(code)))
        case .windowUpdate:
            guard length == 4, let word = Self.uint32(payload, at: 0) else { throw .init(.frameSizeError, "WINDOW_UPDATE of \(length) bytes") }
            let increment = Int(word & 0x7FFF_FFFF)
            guard increment > 0 || stream != .rootStream else { throw .init(.protocolError, "a WINDOW_UPDATE of 0 on the connection") }
            return .windowUpdate(stream: stream, increment: increment)
        case .continuation:
            throw .init(.protocolError, "CONTINUATION without a header block")
        case nil:
            return nil  // an unknown type: ignored (§5.5)
        }
    }

    /// A whole header block's fields.
    private mutating func decode(_ block: ByteBuffer) throws(HTTP2ConnectionError) -> HTTP2ReceivedFields {
        do {
            return try decoder.decode(block)
        } catch {
            throw .init(.compressionError, "a field block did not decode: \(error)")
        }
    }

    /// A DATA or HEADERS payload without its pad length, padding and the `skipping` bytes
    /// after the pad length (HEADERS' priority fields).
    private static func unpadded(_ payload: ByteBuffer, flags: UInt8, skipping: Int) throws(HTTP2ConnectionError) -> ByteBuffer {
        var payload = payload
        var padding = 0
        if flags & Flag.padded != 0 {
            guard let pad = payload.readInteger(as: UInt8.self) else { throw .init(.frameSizeError, "a padded frame without its pad length") }
            padding = Int(pad)
        }
        guard skipping <= payload.readableBytes else { throw .init(.frameSizeError, "HEADERS too short for its priority fields") }
        guard padding + skipping <= payload.readableBytes else { throw .init(.protocolError, "padding as long as the frame") }
        payload.moveReaderIndex(forwardBy: skipping)
        payload.moveWriterIndex(to: payload.writerIndex - padding)
        return payload
    }

    /// The 32-bit integer `offset` bytes into `payload`, if it is that long.
    private static func uint32(_ payload: ByteBuffer, at offset: Int) -> UInt32? {
        payload.getInteger(at: payload.readerIndex + offset, as: UInt32.self)
    }
}
