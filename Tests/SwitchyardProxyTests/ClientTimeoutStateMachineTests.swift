import NIOCore
import Testing

@testable import SwitchyardProxy

/// The client-side timeouts as a state machine, with injected times.
@Suite("ClientTimeoutStateMachine")
struct ClientTimeoutStateMachineTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)

    func machine() -> ClientTimeoutStateMachine {
        ClientTimeoutStateMachine(requestHeader: .seconds(10), keepAlive: .seconds(60), requestBodyIdle: .seconds(30), now: t0)
    }

    @Test("a new connection must send its head within requestHeader")
    func firstHead() {
        var m = machine()
        #expect(m.start(now: t0) == .arm(t0 + .seconds(10)))
        #expect(m.bytesRead(now: t0 + .seconds(1)) == .none)
        #expect(m.timerFired(now: t0 + .seconds(10)) == .requestHeaderTimeout)
    }

    @Test("a busy keep-alive connection re-arms only when its timer fires")
    func lazyTimer() {
        var m = machine()
        _ = m.start(now: t0)
        #expect(m.requestStarted(now: t0 + .seconds(1)) == .none)
        #expect(m.requestEnded(now: t0 + .seconds(1)) == .none)
        #expect(m.responseEnded(now: t0 + .seconds(2)) == .none)
        // The timer armed for the first head fires in the idle phase: it waits for the rest.
        #expect(m.timerFired(now: t0 + .seconds(10)) == .arm(t0 + .seconds(62)))
        #expect(m.timerFired(now: t0 + .seconds(62)) == .close)
    }

    @Test("bytes after idle start the head timer from their arrival")
    func headAfterIdle() {
        var m = machine()
        _ = m.start(now: t0)
        _ = m.requestStarted(now: t0)
        _ = m.requestEnded(now: t0)
        _ = m.responseEnded(now: t0)
        #expect(m.bytesRead(now: t0 + .seconds(50)) == .none)
        #expect(m.timerFired(now: t0 + .seconds(10)) == .arm(t0 + .seconds(60)))
        #expect(m.timerFired(now: t0 + .seconds(60)) == .requestHeaderTimeout)
    }

    @Test("each body read moves the body-idle bound; a stall fires it")
    func bodyIdle() {
        var m = machine()
        _ = m.start(now: t0)
        _ = m.requestStarted(now: t0)
        _ = m.bytesRead(now: t0 + .seconds(20))
        #expect(m.timerFired(now: t0 + .seconds(10)) == .arm(t0 + .seconds(50)))
        #expect(m.timerFired(now: t0 + .seconds(50)) == .requestBodyTimeout)
    }

    @Test("waiting for the response is the route's to bound: the timer disarms")
    func awaitingResponse() {
        var m = machine()
        _ = m.start(now: t0)
        _ = m.requestStarted(now: t0)
        _ = m.requestEnded(now: t0)
        #expect(m.timerFired(now: t0 + .seconds(10)) == .none)
        #expect(m.responseEnded(now: t0 + .seconds(100)) == .arm(t0 + .seconds(160)))
    }

    @Test("a head still unfinished when a read batch ends is bounded from its first byte")
    func stalledHeadArmsAtReadComplete() {
        var m2 = machine()
        _ = m2.start(now: t0)
        _ = m2.requestStarted(now: t0)
        _ = m2.requestEnded(now: t0)
        _ = m2.responseEnded(now: t0)
        #expect(m2.timerFired(now: t0 + .seconds(10)) == .arm(t0 + .seconds(60)))
        #expect(m2.bytesRead(now: t0 + .seconds(20)) == .none)
        // The keep-alive timer is armed for t0+60; the unfinished head needs t0+30.
        #expect(m2.readComplete() == .arm(t0 + .seconds(30)))
        #expect(m2.timerFired(now: t0 + .seconds(30)) == .requestHeaderTimeout)
        // A head that completed within its batch arms nothing.
        var m3 = machine()
        _ = m3.start(now: t0)
        _ = m3.requestStarted(now: t0)
        _ = m3.requestEnded(now: t0)
        #expect(m3.readComplete() == .none)
    }

    @Test("a body is not timed out while the proxy itself holds its reads")
    func pausedBody() {
        var m = machine()
        _ = m.start(now: t0)
        _ = m.requestStarted(now: t0)
        #expect(m.readComplete() == .none)  // armed for the head at t0+10 already
        // The proxy holds reads (upstream not writable): the timer finds no bound.
        #expect(m.timerFired(now: t0 + .seconds(40)) == .none)
        // Reads resume much later: the gap counts from there.
        #expect(m.readsResumed(now: t0 + .seconds(100)) == .arm(t0 + .seconds(130)))
        #expect(m.timerFired(now: t0 + .seconds(130)) == .requestBodyTimeout)
    }

    @Test("a drain closes an idle connection within drainIdle")
    func drain() {
        var m = machine()
        _ = m.start(now: t0)
        _ = m.requestStarted(now: t0)
        _ = m.requestEnded(now: t0)
        #expect(m.drain(now: t0 + .seconds(1)) == .none)
        _ = m.timerFired(now: t0 + .seconds(10))
        #expect(m.responseEnded(now: t0 + .seconds(11)) == .arm(t0 + .seconds(12)))
        #expect(m.timerFired(now: t0 + .seconds(12)) == .close)
    }

    @Test("an answer before the request's end keeps bounding the body, then idles")
    func earlyAnswer() {
        var m = machine()
        _ = m.start(now: t0)
        _ = m.requestStarted(now: t0)
        #expect(m.responseEnded(now: t0) == .none)
        #expect(m.phase == .readingBody)
        _ = m.requestEnded(now: t0 + .seconds(1))
        #expect(m.phase == .idle)
    }
}

/// `grpc-timeout` values (gRPC over HTTP/2).
@Suite("GRPCTimeout")
struct GRPCTimeoutTests {
    @Test("units H M S m u n, at most eight digits")
    func parse() {
        #expect(GRPCTimeout.parse("1H") == .seconds(3600))
        #expect(GRPCTimeout.parse("2M") == .seconds(120))
        #expect(GRPCTimeout.parse("3S") == .seconds(3))
        #expect(GRPCTimeout.parse("250m") == .milliseconds(250))
        #expect(GRPCTimeout.parse("7u") == .microseconds(7))
        #expect(GRPCTimeout.parse("99999999n") == .nanoseconds(99_999_999))
        for bad in ["", "S", "123456789S", "1s", "-1S", "1.5S", "１S"] {
            #expect(GRPCTimeout.parse(bad) == nil, "\(bad)")
        }
    }
}
