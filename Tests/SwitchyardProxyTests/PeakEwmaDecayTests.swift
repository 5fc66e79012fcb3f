import NIOCore
import Testing

/// p2c-peak-ewma tries every endpoint even when requests come one at a time: an endpoint no
/// request has reached costs nothing, and the host's peak-EWMA decays while nobody samples an
/// endpoint (as tower's does).
@Suite("Peak-EWMA: untried and unsampled endpoints")
struct PeakEwmaDecayTests {
    /// Three endpoints, 127.0.0.1:9001-9003, behind p2c-peak-ewma with its defaults.
    static func proxy() throws -> InProcessProxy {
        try InProcessProxy(
            """
            services: [{ authority: web.test.svc.cluster.local:80 }]
            backends:
              - authority: web.test.svc.cluster.local:80
                balancer: { name: p2c-peak-ewma, config: { defaultRtt: 30ms, decay: 10s } }
                endpoints: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9002 }, { address: 127.0.0.1:9003 }]
            """)
    }

    /// Sends `count` requests one at a time, each answered after `rtt` (9003's after
    /// `slowRtt`) and followed by `pause`; returns how many each upstream port served.
    static func sequential(
        _ proxy: InProcessProxy, count: Int, rtt: TimeAmount, slowRtt: TimeAmount? = nil, pause: TimeAmount
    ) throws -> [Int: Int] {
        let client = try proxy.connect()
        var served: [Int: Int] = [:]
        for _ in 0..<count {
            try client.send(DataPathTests.get())
            var answered = false
            for (port, channel) in proxy.upstreams.opened where !answered {
                guard try !channel.requestParts().isEmpty else { continue }
                proxy.advance(by: port == 9003 ? slowRtt ?? rtt : rtt)
                try channel.respond(.ok)
                served[port, default: 0] += 1
                answered = true
            }
            #expect(answered)
            #expect(try client.received().hasPrefix("HTTP/1.1 200 OK"))
            proxy.advance(by: pause)
        }
        return served
    }

    /// Sends `count` requests, each on a connection of its own (so a hung one holds only
    /// itself), `pause` apart; an upstream answers in 1 ms when `answers(port, how many it was
    /// sent so far)` says so. Returns how many each port was sent.
    static func onFreshConnections(
        _ proxy: InProcessProxy, count: Int, pause: TimeAmount, answers: (Int, Int) -> Bool
    ) throws -> [Int: Int] {
        var served: [Int: Int] = [:]
        var clients: [InProcessProxy.Client] = []
        for _ in 0..<count {
            let client = try proxy.connect()
            clients.append(client)
            try client.send(DataPathTests.get())
            for (port, channel) in proxy.upstreams.opened {
                guard try !channel.requestParts().isEmpty else { continue }
                served[port, default: 0] += 1
                guard answers(port, served[port, default: 0]) else { continue }
                proxy.advance(by: .milliseconds(1))
                try channel.respond(.ok)
            }
            proxy.advance(by: pause)
        }
        return served
    }

    @Test("right after start, one request at a time reaches every endpoint well before any decay: an untried endpoint costs nothing")
    func everyEndpointIsProbed() throws {
        // 30 requests in 30 ms of virtual time. Priced at defaultRtt, the third endpoint loses
        // every draw to the two that answered in 1 ms; free, it is drawn with odds 2/3 each time.
        let served = try Self.sequential(Self.proxy(), count: 30, rtt: .milliseconds(1), pause: .zero)
        #expect(Set(served.keys) == [9001, 9002, 9003], "\(served)")
    }

    @Test("an endpoint that answered slowly once is tried again: its estimate decays while the balancer avoids it")
    func slowEndpointIsRetried() throws {
        // 400 requests over 80 s of virtual time; 9003 answers in 50 ms, the others in 1 ms.
        // Its 50 ms estimate falls below theirs after about 40 s without samples: without the
        // decay it keeps its first (probe) request and never gets another.
        let served = try Self.sequential(Self.proxy(), count: 400, rtt: .milliseconds(1), slowRtt: .milliseconds(50), pause: .milliseconds(200))
        #expect(served[9003, default: 0] >= 2, "\(served)")
    }

    @Test("an endpoint that answered fast once, then times out, is avoided after its first timeout: the wait counts as a sample")
    func timeoutIsASample() throws {
        let proxy = try InProcessProxy(
            """
            services: [{ authority: web.test.svc.cluster.local:80, timeouts: { response: 100ms } }]
            backends:
              - authority: web.test.svc.cluster.local:80
                balancer: { name: p2c-peak-ewma, config: { defaultRtt: 30ms, decay: 10s } }
                endpoints: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9002 }, { address: 127.0.0.1:9003 }]
            """)
        // 60 requests over 9 s of virtual time, each on a connection of its own; 9003 answers
        // its first in 1 ms and then nothing, the others answer in 1 ms. Without the sample its
        // estimate stays 1 ms and it keeps taking a third of the requests, each a 504.
        let served = try Self.onFreshConnections(proxy, count: 60, pause: .milliseconds(150)) { port, count in port != 9003 || count == 1 }
        #expect(served.values.reduce(0, +) == 60)
        #expect(served[9003, default: 0] <= 4, "\(served)")
    }

    @Test("an endpoint that refuses connections is priced at least at defaultRtt after each refusal, so it never decays into the cheapest")
    func refusedConnectIsASample() throws {
        let proxy = try Self.proxy()
        proxy.upstreams.refusing = [9003]
        let client = try proxy.connect()
        var failed = 0
        // 300 requests over 60 s of virtual time, answered in 1 ms by 9001 and 9002. Without the
        // sample, 9003's prior decays below the others' after about 35 s and it takes a third of
        // the rest, each a 502.
        for _ in 0..<300 {
            try client.send(DataPathTests.get())
            for (_, channel) in proxy.upstreams.opened {
                guard try !channel.requestParts().isEmpty else { continue }
                proxy.advance(by: .milliseconds(1))
                try channel.respond(.ok)
            }
            if try client.received().hasPrefix("HTTP/1.1 502") { failed += 1 }
            proxy.advance(by: .milliseconds(200))
        }
        #expect(failed <= 4, "\(failed) of 300 went to the refusing endpoint")
    }

    @Test("an endpoint that never answers does not look faster the longer it hangs: its estimate decays only while it has nothing out")
    func hungEndpointIsNotDecayed() throws {
        // 300 requests over 60 s of virtual time, each on a connection of its own; 9003 takes
        // its requests and never answers, the others answer in 1 ms.
        let served = try Self.onFreshConnections(Self.proxy(), count: 300, pause: .milliseconds(200)) { port, _ in port != 9003 }
        // Decayed while hanging, it would take a dozen here; frozen, it takes its first one.
        #expect(served.values.reduce(0, +) == 300)
        #expect(served[9003, default: 0] <= 3, "\(served)")
    }
}
