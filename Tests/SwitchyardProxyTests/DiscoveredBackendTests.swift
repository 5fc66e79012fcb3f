import Logging
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardPluginHost
import SwitchyardTestSupport
import Testing

@_spi(Benchmarks) @testable import SwitchyardProxy

/// A discovered backend in-process (DESIGN.md §12): the test plays the discovery, handing its
/// feed events directly, and one event loop applies the sets as the proxy's loops do. What a
/// change keeps (pool, load, breaker), what it retires, the queue on 0 -> n ready, bursts, and
/// what a reload keeps.
@Suite("Discovered backends in-process")
struct DiscoveredBackendTests {
    static let host = "web.test.svc.cluster.local"

    static func config(
        accrual: Bool = false, discoveryConfig: String = "{ path: /nonexistent/endpoints.json }", staleAfter: String = "0s"
    ) -> String {
        """
        services:
          - authority: web.test.svc.cluster.local:80
        \(accrual ? "    failureAccrual: { consecutive: { maxFailures: 1, minPenalty: 30s, maxPenalty: 60s } }\n" : "")backends:
          - authority: web.test.svc.cluster.local:80
            balancer: { name: round-robin }
            queue: { failfastTimeout: 1s }
            discovery: { name: file, config: \(discoveryConfig), staleAfter: \(staleAfter) }
        """
    }

    /// The proxy, its feed (never started: the test publishes) and the loop's runtime.
    struct Fixture {
        let proxy: InProcessProxy
        var feed: EndpointFeed { proxy.path.generation.shared[0].feed! }
        var runtime: BackendRuntime { proxy.slot.state.backends[0] }

        init(accrual: Bool = false, staleAfter: String = "0s") throws {
            proxy = try InProcessProxy(DiscoveredBackendTests.config(accrual: accrual, staleAfter: staleAfter))
        }

        /// Publishes `event` as the plugin would, then lets the loop run what it scheduled.
        func publish(_ kind: DiscoveryEvent.Kind, _ ports: [Int] = [], run: Bool = true) {
            feed.apply(
                DiscoveryEvent(kind: kind, endpoints: ports.map { DiscoveredEndpoint(address: Authority(host: "127.0.0.1", port: UInt16($0))) }))
            if run { proxy.loop.run() }
        }

        var ports: [Int] { runtime.endpoints.map { Int($0.config.address.port) } }

        func get(_ client: InProcessProxy.Client, _ path: String) throws {
            try client.send("GET \(path) HTTP/1.1\r\nHost: \(DiscoveredBackendTests.host)\r\n\r\n")
        }
    }

    @Test("with no set yet requests queue; the first set sends them on (0 -> n ready)")
    func firstSetDrainsQueue() throws {
        let f = try Fixture()
        let client = try f.proxy.connect()
        try f.get(client, "/queued")
        #expect(f.proxy.upstreams.opened.isEmpty)
        f.publish(.reset, [9001])
        let upstream = try f.proxy.upstreams.last(port: 9001)
        #expect(try upstream.requestParts().head?.uri == "/queued")
        try upstream.respond(.ok, body: "hi")
        #expect(try client.received().hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test("NOT_FOUND empties the set: requests queue, fail 504 after failfastTimeout, then 503")
    func notFound() throws {
        let f = try Fixture()
        f.publish(.reset, [9001])
        f.publish(.notFound)
        #expect(f.ports.isEmpty)
        let client = try f.proxy.connect()
        try f.get(client, "/a")
        f.proxy.advance(by: .seconds(1))
        #expect(try client.received().hasPrefix("HTTP/1.1 504 "))
        let second = try f.proxy.connect()
        try f.get(second, "/b")
        #expect(try second.received().hasPrefix("HTTP/1.1 503 "))
        #expect(f.proxy.upstreams.opened.isEmpty)
    }

    @Test("ERROR keeps the last set serving")
    func errorKeepsSet() throws {
        let f = try Fixture()
        f.publish(.reset, [9001])
        f.feed.apply(DiscoveryEvent(kind: .error, message: "source down"))
        f.proxy.loop.run()
        #expect(f.ports == [9001])
        let client = try f.proxy.connect()
        try f.get(client, "/still")
        #expect(try f.proxy.upstreams.last(port: 9001).requestParts().head?.uri == "/still")
    }

    @Test("past staleAfter a failing source's set stops serving; its next answer, even a heartbeat, brings the set back")
    func stale() throws {
        let f = try Fixture(staleAfter: "10s")
        f.publish(.reset, [9001, 9002])
        f.feed.apply(DiscoveryEvent(kind: .error, message: "source down"))
        f.feed.tick(now: .now + .seconds(5))
        f.proxy.loop.run()
        #expect(f.ports == [9001, 9002], "still within staleAfter")
        f.feed.tick(now: .now + .seconds(11))
        f.proxy.loop.run()
        #expect(f.ports.isEmpty)
        #expect(f.feed.statusJSON.description.contains("stale"), "\(f.feed.statusJSON)")
        f.publish(.current)
        #expect(f.ports == [9001, 9002])
    }

    @Test("an addition past 10000 endpoints is refused whole (a fault: the discovery sends its set again); the set stays as it was")
    func endpointLimit() throws {
        let f = try Fixture()
        let ports = (0..<DiscoveryEvent.maximumEndpoints).map { 10000 + $0 }
        f.publish(.reset, ports)
        #expect(f.runtime.endpoints.count == DiscoveryEvent.maximumEndpoints)
        #expect(!f.feed.apply(DiscoveryEvent(kind: .add, endpoints: [DiscoveredEndpoint(address: Authority(host: "127.0.0.1", port: 9001))])))
        f.proxy.loop.run()
        #expect(f.runtime.endpoints.count == DiscoveryEvent.maximumEndpoints)
        #expect(!f.ports.contains(9001))
        f.publish(.add, [10000])
        #expect(f.runtime.endpoints.count == DiscoveryEvent.maximumEndpoints, "replacing a known address adds none")
    }

    @Test("a heartbeat says again what the last answer said: after an error, not_found stays not_found, and no answer yet stays no set")
    func heartbeat() throws {
        func state(_ f: Fixture) -> String {
            guard case .object(let members) = f.feed.statusJSON, case .string(let state)? = members.first(where: { $0.key == "state" })?.value else { return "" }
            return state
        }
        let f = try Fixture()
        f.publish(.error)
        f.publish(.current)
        #expect(state(f) == "error" && !f.feed.isSettled)
        f.publish(.notFound)
        f.publish(.error)
        f.publish(.current)
        #expect(state(f) == "not_found" && f.ports.isEmpty)
        f.publish(.reset, [9001])
        f.publish(.error)
        f.publish(.current)
        #expect(state(f) == "synced" && f.ports == [9001])
    }

    @Test("a change keeps what it keeps: the kept endpoint's pooled connection serves on; a removed one's request in flight finishes; a new one connects")
    func diff() throws {
        let f = try Fixture()
        f.publish(.reset, [9001])
        let client = try f.proxy.connect()
        try f.get(client, "/one")
        let pooled = try f.proxy.upstreams.last(port: 9001)
        _ = try pooled.requestParts()
        try pooled.respond(.ok, body: "1")
        _ = try client.received()
        let kept = f.runtime.endpoints[0]

        f.publish(.add, [9002])
        f.publish(.remove, [9002])
        #expect(f.runtime.endpoints[0] === kept)
        try f.get(client, "/two")
        #expect(f.proxy.upstreams.opened.count == 1, "the kept endpoint reuses its pooled connection")
        #expect(try pooled.requestParts().head?.uri == "/two")

        // 9001 leaves while /two is in flight; 9003 comes.
        f.publish(.reset, [9003])
        #expect(f.ports == [9003])
        let other = try f.proxy.connect()
        try f.get(other, "/three")
        #expect(try f.proxy.upstreams.last(port: 9003).requestParts().head?.uri == "/three")
        try pooled.respond(.ok, body: "2")
        #expect(try client.received().hasSuffix("\r\n\r\n2"))
        #expect(!pooled.isActive, "a retired endpoint's connection closes once its request ends")
    }

    @Test("a burst of sets before the loop turns is applied once, as its last set: an endpoint in the first and last sets is never retired in between")
    func burst() throws {
        let f = try Fixture()
        f.publish(.reset, [9001])
        let first = f.runtime.endpoints[0]
        f.publish(.reset, [9002], run: false)
        f.publish(.reset, [9002, 9003], run: false)
        f.publish(.reset, [9003, 9001], run: false)
        #expect(f.ports == [9001], "nothing applied before the loop runs")
        f.proxy.loop.run()
        #expect(f.ports == [9003, 9001])
        #expect(f.runtime.endpoints[1] === first)
        #expect(f.runtime.endpoints[1].index == 1)
    }

    @Test("a breaker is kept by address across changes; an address that leaves and comes back starts with a fresh one")
    func breakerCarry() throws {
        let f = try Fixture(accrual: true)
        f.publish(.reset, [9001, 9002])
        let client = try f.proxy.connect()
        // Round-robin starts at 9001: one 500 trips its breaker (maxFailures 1).
        try f.get(client, "/fail")
        let upstream = try f.proxy.upstreams.last(port: 9001)
        _ = try upstream.requestParts()
        try upstream.respond(.internalServerError)
        _ = try client.received()
        func ready(_ port: Int) -> Bool? {
            let snapshot = f.proxy.path.generation.shared[0].snapshot
            guard let i = snapshot.endpoints.firstIndex(where: { $0.address.port == port }) else { return nil }
            return snapshot.healths[i]?.isReady
        }
        #expect(ready(9001) == false)
        f.publish(.add, [9003])
        #expect(ready(9001) == false, "kept across the change")
        #expect(!f.runtime.balancer.isReady(f.runtime.endpoints.firstIndex { $0.config.address.port == 9001 }!))
        f.publish(.remove, [9001])
        f.publish(.add, [9001])
        #expect(ready(9001) == true, "a fresh breaker")
    }

    @Test("a reload with the same discovery keeps the running feed and its set; another config starts a new one")
    func reloadCarry() throws {
        let f = try Fixture()
        f.publish(.reset, [9001])
        let running = f.proxy.path.generation
        func next(_ yaml: String) throws -> TableGeneration {
            let table = try RoutingTable(config: try ProxyConfig(yaml: yaml), pluginDirectory: BuildProducts.directory, logger: Logger(label: "test"))
            return TableGeneration(
                table: table, exporter: f.proxy.exporter, previous: running, environment: running.environment, accessLog: nil, loops: 1,
                logger: Logger(label: "test"))
        }
        let same = try next(Self.config())
        #expect(same.shared[0].feed === running.shared[0].feed)
        #expect(same.shared[0].snapshot.endpoints.map(\.address.port) == [9001])
        let other = try next(Self.config(discoveryConfig: "{ path: /nonexistent/other.json }"))
        #expect(other.shared[0].feed !== running.shared[0].feed)
        #expect(other.shared[0].snapshot.endpoints.isEmpty)
        other.abandon(keeping: running)
        same.abandon(keeping: running)
    }
}
