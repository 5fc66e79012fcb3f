import NIOCore
import Testing

/// The host's peak-EWMA decays while nobody samples an endpoint (as tower's does), so p2c
/// tries every endpoint even when requests come one at a time.
@Suite("Peak-EWMA decay")
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

    @Test("one request at a time, p2c-peak-ewma reaches every endpoint: the one it never sampled decays below the others")
    func everyEndpointIsTried() throws {
        let proxy = try Self.proxy()
        let client = try proxy.connect()
        var served: [Int: Int] = [:]
        // 100 requests over 10 s of virtual time, each answered in 1 ms.
        for _ in 0..<100 {
            try client.send(DataPathTests.get())
            var answered = false
            for (port, channel) in proxy.upstreams.opened where !answered {
                guard try !channel.requestParts().isEmpty else { continue }
                proxy.advance(by: .milliseconds(1))
                try channel.respond(.ok)
                served[port, default: 0] += 1
                answered = true
            }
            #expect(answered)
            #expect(try client.received().hasPrefix("HTTP/1.1 200 OK"))
            proxy.advance(by: .milliseconds(100))
        }
        #expect(Set(served.keys) == [9001, 9002, 9003], "\(served)")
    }

    @Test("an endpoint that never answers does not look faster the longer it hangs: its estimate decays only while it has nothing out")
    func hungEndpointIsNotDecayed() throws {
        let proxy = try Self.proxy()
        var served: [Int: Int] = [:]
        var clients: [InProcessProxy.Client] = []
        // 300 requests over 60 s of virtual time, each on a connection of its own; 9003 takes
        // its requests and never answers, the others answer in 1 ms.
        for _ in 0..<300 {
            let client = try proxy.connect()
            clients.append(client)
            try client.send(DataPathTests.get())
            for (port, channel) in proxy.upstreams.opened {
                guard try !channel.requestParts().isEmpty else { continue }
                served[port, default: 0] += 1
                guard port != 9003 else { continue }
                proxy.advance(by: .milliseconds(1))
                try channel.respond(.ok)
            }
            proxy.advance(by: .milliseconds(200))
        }
        // Decayed while hanging, it would take a dozen here; frozen, it takes its first one.
        #expect(served.values.reduce(0, +) == 300)
        #expect(served[9003, default: 0] <= 3, "\(served)")
    }
}
