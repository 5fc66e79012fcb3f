import NIOCore
import NIOHTTP2
import Testing

@testable import SwitchyardProxy

/// A client HTTP/2 connection's idle bound and graceful shutdown as a state machine, with
/// injected times.
@Suite("HTTP2ServerLifetimeStateMachine")
struct HTTP2ServerLifetimeStateMachineTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let ping = HTTP2PingData(withInteger: 42)

    func machine() -> HTTP2ServerLifetimeStateMachine {
        HTTP2ServerLifetimeStateMachine(idle: .seconds(60), ping: ping)
    }

    @Test("a connection that opens no stream is shut down gracefully after idle: GOAWAY and PING, then the last stream's GOAWAY and close")
    func idleFromStart() {
        var m = machine()
        #expect(m.start(now: t0) == .arm(t0 + .seconds(60)))
        #expect(m.timerFired(now: t0 + .seconds(60)) == .sendGoAwayAndPing(ping: ping))
        #expect(m.pingAcknowledged(HTTP2PingData(withInteger: 7)) == .none, "another PING's ack")
        #expect(m.pingAcknowledged(ping) == .sendGoAway(lastStreamID: .rootStream, close: true))
        #expect(m.pingAcknowledged(ping) == .none)
    }

    @Test("streams opening and closing on a busy connection arm nothing; the timer checks when it fires")
    func lazyTimer() {
        var m = machine()
        _ = m.start(now: t0)
        for second in 1...100 {
            m.streamOpened(HTTP2StreamID(2 * second + 1))
            #expect(m.streamClosed(now: t0 + .seconds(Int64(second))) == .none)
        }
        // Idle since second 100: the timer armed at start re-arms for the rest.
        #expect(m.timerFired(now: t0 + .seconds(60)) == .arm(t0 + .seconds(160)))
        #expect(m.timerFired(now: t0 + .seconds(160)) == .sendGoAwayAndPing(ping: ping))
    }

    @Test("a timer that fires while a stream is open disarms; the next idle moment arms it again")
    func busyAtFire() {
        var m = machine()
        _ = m.start(now: t0)
        m.streamOpened(1)
        #expect(m.timerFired(now: t0 + .seconds(60)) == .none)
        #expect(m.streamClosed(now: t0 + .seconds(90)) == .arm(t0 + .seconds(150)))
        m.streamOpened(3)
        m.streamOpened(5)
        #expect(m.streamClosed(now: t0 + .seconds(91)) == .none, "a stream is still open")
        #expect(m.streamClosed(now: t0 + .seconds(92)) == .none, "armed already")
        #expect(m.timerFired(now: t0 + .seconds(150)) == .arm(t0 + .seconds(152)))
    }

    @Test("a drain with streams open: the second GOAWAY names the last stream, and the last stream's close closes the connection")
    func drain() {
        var m = machine()
        _ = m.start(now: t0)
        m.streamOpened(1)
        m.streamOpened(5)
        #expect(m.quiesce() == .sendGoAwayAndPing(ping: ping))
        #expect(m.quiesce() == .none, "once")
        m.streamOpened(7)  // opened before the client saw the GOAWAY: still served
        #expect(m.streamClosed(now: t0) == .none)
        #expect(m.pingAcknowledged(ping) == .sendGoAway(lastStreamID: 7, close: false))
        #expect(m.streamClosed(now: t0) == .none)
        #expect(m.timerFired(now: t0 + .seconds(60)) == .none, "no idle shutdown once draining")
        #expect(m.streamClosed(now: t0) == .close)
    }
}
