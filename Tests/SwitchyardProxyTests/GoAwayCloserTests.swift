import NIOCore
import NIOEmbedded
import Testing

@testable import SwitchyardProxy

/// ``GoAwayCloser`` follows the outbound frame stream however the writes cut it.
@Suite("GOAWAY closer")
struct GoAwayCloserTests {
    /// A frame: 9-byte header (length, type, flags, stream id) and payload.
    static func frame(type: UInt8, stream: UInt32 = 0, payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, 0]
            + withUnsafeBytes(of: stream.bigEndian, Array.init) + payload
    }

    static func goAway(lastStream: UInt32, error: UInt32, debug: [UInt8] = []) -> [UInt8] {
        frame(type: 0x7, payload: withUnsafeBytes(of: lastStream.bigEndian, Array.init) + withUnsafeBytes(of: error.bigEndian, Array.init) + debug)
    }

    /// The frames written in two writes cut at `cut`, then flushed: whether the channel closed.
    static func closes(_ bytes: [UInt8], cut: Int) throws -> Bool {
        let channel = EmbeddedChannel(handler: GoAwayCloser())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channel.write(ByteBuffer(bytes: bytes[..<cut]), promise: nil)
        channel.write(ByteBuffer(bytes: bytes[cut...]), promise: nil)
        channel.flush()
        return !channel.isActive
    }

    @Test("an error GOAWAY closes the connection after its flush, wherever the writes cut the frames; a NO_ERROR one does not")
    func everyCut() throws {
        let before = Self.frame(type: 0x1, stream: 1, payload: Array(repeating: 0x41, count: 20))
            + Self.frame(type: 0x0, stream: 1, payload: Array(repeating: 0x07, count: 300)) + Self.frame(type: 0x7, payload: [1, 2])  // a short "GOAWAY" is skipped
        let failing = before + Self.goAway(lastStream: 1, error: 0x1, debug: Array("flood".utf8)) + Self.frame(type: 0x6, payload: Array(repeating: 0, count: 8))
        let graceful = before + Self.goAway(lastStream: 1, error: 0) + Self.frame(type: 0x6, payload: Array(repeating: 0, count: 8))
        for cut in 0...failing.count {
            #expect(try Self.closes(failing, cut: cut), "cut at \(cut)")
        }
        for cut in 0...graceful.count {
            #expect(try !Self.closes(graceful, cut: cut), "cut at \(cut)")
        }
    }

    @Test("a graceful shutdown's first GOAWAY is written beneath NIO's handler; the peer has ackTimeout from the socket to acknowledge, and its acknowledgement ends the wait")
    func gracefulShutdown() throws {
        for acknowledges in [true, false] {
            let closer = GoAwayCloser(ackTimeout: .seconds(5))
            let channel = EmbeddedChannel(handler: closer)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            closer.writeFirstGracefulGoAway()
            channel.flush()
            #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(bytes: Self.goAway(lastStream: 0x7FFF_FFFF, error: 0)))
            // A second NO_ERROR GOAWAY is no acknowledgement (NIO's handler may hold it back).
            channel.writeAndFlush(ByteBuffer(bytes: Self.goAway(lastStream: 0x7FFF_FFFF, error: 0)), promise: nil)
            channel.embeddedEventLoop.advanceTime(by: .seconds(4))
            #expect(channel.isActive)
            if acknowledges { closer.gracefulShutdownAcknowledged() }
            channel.embeddedEventLoop.advanceTime(by: .seconds(2))
            #expect(channel.isActive == acknowledges, acknowledges ? "acknowledged: it stays for its streams" : "no acknowledgement within ackTimeout: closed")
        }
    }
}
