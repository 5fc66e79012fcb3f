import NIOCore
import SwitchyardCore
import Testing

@testable import SwitchyardProxy

/// The request lifecycle as a state machine, with stand-in backends and endpoints and injected
/// times: where a request may go, and what each ending means for the client, the metrics and
/// the endpoint's breaker.
@Suite("ExchangeStateMachine")
struct ExchangeStateMachineTests {
    final class Backend {}
    final class Endpoint {}
    typealias Machine = ExchangeStateMachine<Backend, Endpoint>

    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let backend = Backend()
    let endpoint = Endpoint()

    func machine(timeouts: RouteTimeouts = .init(), isGRPC: Bool = false, clientChoseDeadline: Bool = false) -> Machine {
        Machine(isGRPC: isGRPC, timeouts: timeouts, clientChoseDeadline: clientChoseDeadline, now: t0)
    }

    /// A machine proxying on `endpoint` with the whole request sent.
    func proxying(probe: Bool = false, timeouts: RouteTimeouts = .init(), isGRPC: Bool = false) -> Machine {
        var m = machine(timeouts: timeouts, isGRPC: isGRPC)
        m.started(on: endpoint, probe: probe, now: t0)
        _ = m.connected(now: t0)
        m.requestProgressed(ended: true, now: t0)
        return m
    }

    /// The ending an event returned (outside `#require`, which cannot take a mutating call).
    func ended(_ ending: Machine.Ending?) throws -> Machine.Ending {
        try #require(ending)
    }

    func leaves(_ leave: Machine.Leave) -> String {
        switch leave {
        case .nothing: "nothing"
        case .queue(let b): b === backend ? "queue" : "other queue"
        case .endpoint(let e): e === endpoint ? "endpoint" : "other endpoint"
        }
    }

    @Test("a response ends: the endpoint hears success, 5xx is a failure, 429 is not")
    func responseEnds() throws {
        for (status, verdict) in [(200, Machine.Verdict.success), (503, .failure), (429, .success)] {
            var m = proxying()
            m.responseHead(status: status, grpcStatus: nil, now: t0)
            let ending = try ended(m.responseEnded(grpcStatus: nil))
            #expect(ending.verdict == verdict)
            #expect(ending.answer == .nothing && ending.status == status && ending.error == .none && ending.failure == nil)
            #expect(leaves(ending.leave) == "endpoint")
            #expect(m.isDone)
        }
    }

    @Test("gRPC: the trailers' status is counted and judged; OK and NOT_FOUND pass, UNAVAILABLE fails")
    func grpcStatuses() throws {
        for (code, verdict) in [(GRPCStatus.ok, Machine.Verdict.success), (.notFound, .success), (.unavailable, .failure)] {
            var m = proxying(isGRPC: true)
            m.responseHead(status: 200, grpcStatus: nil, now: t0)
            let ending = try ended(m.responseEnded(grpcStatus: code))
            #expect(ending.verdict == verdict && ending.status == code.rawValue)
        }
        // A trailers-only response carries its status in the head.
        var m = proxying(isGRPC: true)
        m.responseHead(status: 200, grpcStatus: .dataLoss, now: t0)
        #expect(try ended(m.responseEnded(grpcStatus: nil)).verdict == .failure)
    }

    @Test("a queued request that times out in the queue leaves the queue and is answered FAIL_FAST")
    func failFastFromQueue() throws {
        var m = machine()
        m.enqueued(at: backend)
        let ending = try ended(m.failed(.failFast))
        #expect(leaves(ending.leave) == "queue")
        #expect(ending.verdict == .nothing && ending.answer == .respond(.failFast) && ending.status == -1 && ending.error == .failFast)
    }

    @Test("a load-shed request was never queued: it leaves nothing")
    func loadShed() throws {
        var m = machine()
        let ending = try ended(m.failed(.loadShed(.queueFull)))
        #expect(leaves(ending.leave) == "nothing" && ending.error == .loadShed)
    }

    @Test("failures that do not apply where the request is are ignored")
    func inapplicable() {
        var m = machine()
        #expect(m.failed(.connect(address: "a:1", reason: "x")) == nil)  // not connecting
        #expect(m.failed(.upstreamReset) == nil)  // not proxying
        m.started(on: endpoint, probe: false, now: t0)
        #expect(m.failed(.failFast) == nil)  // no longer queued
        #expect(m.failed(.upstreamError(reason: "x")) == nil)
        #expect(!m.isDone)
    }

    @Test("the endpoint is blamed for a failed connect, a reset, a protocol error; not for an unsendable request")
    func blame() throws {
        var connecting = machine()
        connecting.started(on: endpoint, probe: false, now: t0)
        #expect(try ended(connecting.failed(.connect(address: "a:1", reason: "refused"))).verdict == .failure)
        for failure in [ExchangeFailure.upstreamReset, .upstreamError(reason: "bad frame")] {
            var m = proxying()
            let ending = try ended(m.failed(failure))
            #expect(ending.verdict == .failure && ending.answer == .respond(failure) && ending.error == .badGateway)
        }
        var probe = proxying(probe: true)
        #expect(try ended(probe.failed(.unsendable(reason: "bad header"))).verdict == .releaseProbe)
        var plain = proxying()
        #expect(try ended(plain.failed(.unsendable(reason: "bad header"))).verdict == .nothing)
    }

    @Test("the client going away: no answer, CANCEL, and a probe goes to the next request")
    func cancel() throws {
        var m = machine()
        m.started(on: endpoint, probe: true, now: t0)
        let ending = try ended(m.failed(.cancel))
        #expect(ending.answer == .nothing && ending.error == .cancel && ending.verdict == .releaseProbe)
        #expect(m.failed(.cancel) == nil)
        #expect(m.connected(now: t0) == false)  // the channel that connects now is closed
    }

    @Test("once the response started, a failure closes the client instead of answering, and counts the status")
    func partialResponse() throws {
        var m = proxying()
        m.responseHead(status: 200, grpcStatus: nil, now: t0)
        let ending = try ended(m.failed(.upstreamReset))
        #expect(ending.answer == .closeClient && ending.status == 200 && ending.error == .badGateway)
    }

    @Test("timeouts: the nearest bound fails the exchange, and only a late endpoint is blamed")
    func timeouts() throws {
        let bounds = RouteTimeouts(request: .seconds(10), response: .seconds(2), idle: .seconds(5))
        var m = proxying(timeouts: bounds)
        #expect(m.nextDeadline?.deadline == t0 + .seconds(2))
        #expect(m.timePassed(now: t0 + .seconds(1)) == nil)
        let ending = try ended(m.timePassed(now: t0 + .seconds(2)))
        #expect(ending.failure == .timeout(.response) && ending.error == .responseHeadersTimeout && ending.verdict == .failure)

        // After the head, the response bound is off; idle runs from the last byte.
        var idle = proxying(timeouts: bounds)
        idle.responseHead(status: 200, grpcStatus: nil, now: t0 + .seconds(1))
        _ = idle.responseProgressed(now: t0 + .seconds(3))
        #expect(idle.nextDeadline?.deadline == t0 + .seconds(8))
        #expect(try ended(idle.timePassed(now: t0 + .seconds(8))).answer == .closeClient)

        // A client still sending, or not reading, is not the endpoint's doing.
        var sending = machine(timeouts: bounds)
        sending.started(on: endpoint, probe: true, now: t0)
        _ = sending.connected(now: t0)
        #expect(try ended(sending.timePassed(now: t0 + .seconds(2))).verdict == .releaseProbe)
        var notReading = proxying(timeouts: bounds)
        notReading.responseHead(status: 200, grpcStatus: nil, now: t0)
        notReading.clientHolds(true)
        #expect(try ended(notReading.timePassed(now: t0 + .seconds(5))).verdict == .nothing)

        // A client's own grpc-timeout is not the endpoint's lateness either.
        var chosen = Machine(isGRPC: true, timeouts: RouteTimeouts(request: .seconds(1)), clientChoseDeadline: true, now: t0)
        chosen.started(on: endpoint, probe: false, now: t0)
        _ = chosen.connected(now: t0)
        chosen.requestProgressed(ended: true, now: t0)
        let deadline = try ended(chosen.timePassed(now: t0 + .seconds(1)))
        #expect(deadline.failure == .timeout(.request) && deadline.verdict == .nothing)
        #expect(deadline.failure?.answer(describe: { $0 }).grpcStatus == .deadlineExceeded)
    }

    @Test("the RTT runs from the request's send to the first response byte, once")
    func firstByte() {
        var m = machine()
        m.started(on: endpoint, probe: false, now: t0)
        _ = m.connected(now: t0 + .milliseconds(5))
        #expect(m.responseProgressed(now: t0 + .milliseconds(9)) == t0 + .milliseconds(5))
        #expect(m.responseProgressed(now: t0 + .milliseconds(10)) == nil)
    }

    @Test("the balancer observes every ending at an endpoint: status, gRPC status, connect failure, reset, cancel, timeout, probe")
    func observations() throws {
        var ok = proxying(isGRPC: true)
        ok.responseHead(status: 200, grpcStatus: nil, now: t0)
        let ended = try ended(ok.responseEnded(grpcStatus: .unavailable))
        #expect(ended.observed == Machine.Observation(startedAt: t0, httpStatus: 200, grpcStatus: 14, flags: []))

        var refused = machine()
        refused.started(on: endpoint, probe: true, now: t0 + .milliseconds(3))
        let connect = try self.ended(refused.failed(.connect(address: "a", reason: "refused")))
        #expect(connect.observed == Machine.Observation(startedAt: t0 + .milliseconds(3), httpStatus: 0, grpcStatus: nil, flags: [.connectFailure, .probe]))

        var broken = proxying()
        broken.responseHead(status: 503, grpcStatus: nil, now: t0)
        let reset = try self.ended(broken.failed(.upstreamReset))
        #expect(reset.observed?.flags == .reset && reset.observed?.httpStatus == 503)

        var left = proxying()
        #expect(try self.ended(left.failed(.cancel)).observed?.flags == .cancel)
        var late = proxying(timeouts: RouteTimeouts(response: .seconds(1)))
        #expect(try self.ended(late.timePassed(now: t0 + .seconds(1))).observed?.flags == .timeout)
        // A client's own grpc-timeout running out is the client's doing, not the endpoint's lateness.
        var deadline = Machine(isGRPC: true, timeouts: RouteTimeouts(request: .seconds(1)), clientChoseDeadline: true, now: t0)
        deadline.started(on: endpoint, probe: false, now: t0)
        _ = deadline.connected(now: t0)
        deadline.requestProgressed(ended: true, now: t0)
        #expect(try self.ended(deadline.timePassed(now: t0 + .seconds(1))).observed?.flags == .cancel)
        // A status outside gRPC's codes is heard as UNKNOWN.
        var odd = proxying(isGRPC: true)
        odd.responseHead(status: 200, grpcStatus: nil, now: t0)
        #expect(try self.ended(odd.responseEnded(grpcStatus: GRPCStatus(rawValue: 99))).observed?.grpcStatus == 2)

        // Nothing to observe: the request never reached an endpoint, or the proxy could not send it.
        var queued = machine()
        queued.enqueued(at: backend)
        #expect(try self.ended(queued.failed(.cancel)).observed == nil)
        var unsendable = proxying()
        #expect(try self.ended(unsendable.failed(.unsendable(reason: "x"))).observed == nil)
    }
}
