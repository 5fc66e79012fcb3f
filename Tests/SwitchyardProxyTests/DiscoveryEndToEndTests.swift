import Foundation
import SwitchyardTestSupport
import Testing

/// Discovered backends over real sockets (DESIGN.md §12): the standard `dns`, `file` and `etcd`
/// discoveries against dnsmasq, files renamed and symlinks swapped, and a real etcd, with
/// `switchyard run` and curl.
@Suite("Discovery end to end", .serialized)
struct DiscoveryEndToEndTests {
    /// Which upstreams answered `count` requests to `host` through `port` (their names).
    func answers(port: Int, host: String, count: Int = 6) throws -> [String] {
        try (0..<count).map { _ in
            let response = try Curl.request(port: port, host: host)
            return response.headers["x-upstream"] ?? "\(response.status)"
        }
    }

    /// Waits up to `timeout` for `condition`; returns how long it took, or nil.
    @discardableResult
    func wait(_ timeout: TimeInterval = 15, _ condition: () throws -> Bool) rethrows -> TimeInterval? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if try condition() { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return nil
    }

    /// The first backend of `/config`: its live endpoints' addresses and its discovery state.
    func live(admin: Int) throws -> (addresses: [String], state: String) {
        let body = try Peers.admin(admin, "/config").body
        guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let backend = (object["backends"] as? [[String: Any]])?.first,
            let endpoints = backend["endpoints"] as? [[String: Any]],
            let discovery = backend["discovery"] as? [String: Any]
        else { throw InProcessError("unexpected /config: \(body)") }
        return (endpoints.compactMap { $0["address"] as? String }, discovery["state"] as? String ?? "")
    }

    func config(port: Int = 0, authority: String, discovery: String, failfast: String = "500ms", balancer: String = "round-robin") -> String {
        """
        listen: 127.0.0.1:\(port)
        services:
          - authority: \(authority)
        backends:
          - authority: \(authority)
            balancer: { name: \(balancer) }
            queue: { failfastTimeout: \(failfast) }
            discovery: \(discovery)
        """
    }

    @Test("dns: A records scale out and in within their TTL; DNS down keeps the last set, back is synced; NXDOMAIN past holdNotFound empties the set (504, then 503)")
    func dnsARecords() throws {
        let port = try Peers.freePort()
        let (upstreams, _) = try Peers.httpUpstreams(["one@127.0.0.1:\(port)", "two@127.0.0.2:\(port)"])
        defer { upstreams.stop() }
        let dns = try DiscoverySources.DNS(hosts: ["127.0.0.1 web.test"])
        defer { dns.stop() }
        let host = "web.test:\(port)"
        let (proxy, proxyPort) = try Peers.proxy(
            config: config(
                authority: host,
                discovery: "{ name: dns, config: { servers: [\"127.0.0.1:\(dns.port)\"], minTtl: 200ms, holdNotFound: 1s } }"))
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)
        #expect(try wait { try Peers.admin(admin, "/ready").status == 200 } != nil)
        #expect(Set(try answers(port: proxyPort, host: host)) == ["one"])

        // Scale out: a second A record, seen within the TTL (1 s) and a re-resolve.
        try dns.setHosts(["127.0.0.1 web.test", "127.0.0.2 web.test"])
        let out = try wait { Set(try answers(port: proxyPort, host: host, count: 2)) == ["one", "two"] }
        #expect(out != nil && out! < 5, "scale-out took \(String(describing: out)) s")
        // Scale in.
        try dns.setHosts(["127.0.0.2 web.test"])
        #expect(try wait { try live(admin: admin).addresses == ["127.0.0.2:\(port)"] } != nil)
        #expect(Set(try answers(port: proxyPort, host: host)) == ["two"])

        // DNS down: the last set serves, the state says error; back: synced.
        dns.stop()
        #expect(try wait { try live(admin: admin).state == "error" } != nil)
        #expect(Set(try answers(port: proxyPort, host: host)) == ["two"])
        try dns.start()
        #expect(try wait(40) { try live(admin: admin).state == "synced" } != nil)

        // The name goes away: held for holdNotFound, then the set empties.
        try dns.setHosts([])
        #expect(try wait { try live(admin: admin).state == "not_found" } != nil)
        #expect(try live(admin: admin).addresses.isEmpty)
        #expect(try Curl.request(port: proxyPort, host: host).status == 504)
        #expect(try Curl.request(port: proxyPort, host: host).status == 503)
        let metrics = try Peers.admin(admin, "/metrics").body
        #expect(metrics.contains("discovery=\"dns\",state=\"not_found\"} 1"), "\(metrics)")
        #expect(metrics.contains("switchyard_discovery_updates_total{"))
        let file = try FixturePlugin.writeFile(named: "metrics.txt", contents: metrics)
        let check = try Subprocess.run("/bin/sh", ["-c", "promtool check metrics < '\(file)'"])
        #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
    }

    @Test("startup waits for a discovery's first set until initialFetchTimeout (as Envoy warms a cluster): /ready is 503 until then, the log says so, then it serves")
    func initialFetchTimeout() throws {
        // A DNS server that never answers: a port nothing listens on.
        let silent = try Peers.freePort()
        let file = try FixturePlugin.writeFile(
            named: "switchyard.yaml",
            contents: config(
                authority: "web.test:80",
                discovery: "{ name: dns, config: { servers: [\"127.0.0.1:\(silent)\"], timeout: 200ms, attempts: 1 }, initialFetchTimeout: 2s }"))
        let proxy = try BackgroundProcess(BuildProducts.switchyard, ["run", "--config", file, "--threads", "1", "--admin", "127.0.0.1:0"])
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)
        #expect(try Peers.admin(admin, "/ready").status == 503)
        let warning = try proxy.waitForLine(containing: "gave no set within initialFetchTimeout")
        #expect(warning.contains("2s"))
        _ = try proxy.waitForLine(containing: "proxy listening on")
        #expect(try wait(10) { try Peers.admin(admin, "/ready").status == 200 } != nil)
        #expect(try live(admin: admin).state == "error")
    }

    @Test("dns: SRV records give ports and weights, lowest priority only")
    func dnsSRV() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["a", "b", "c"])
        defer { upstreams.stop() }
        let dns = try DiscoverySources.DNS(
            hosts: ["127.0.0.1 web-0.test", "127.0.0.1 web-1.test", "127.0.0.1 web-2.test"],
            srv: [
                "_http._tcp.web.test,web-0.test,\(ports["a"]!),0,10", "_http._tcp.web.test,web-1.test,\(ports["b"]!),0,30",
                "_http._tcp.web.test,web-2.test,\(ports["c"]!),1,10",
            ])
        defer { dns.stop() }
        let (proxy, proxyPort) = try Peers.proxy(
            config: config(
                authority: "web.test:80", discovery: "{ name: dns, config: { name: _http._tcp.web.test, servers: [\"127.0.0.1:\(dns.port)\"] } }",
                balancer: "weighted-round-robin"))
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)
        #expect(try wait { try Peers.admin(admin, "/ready").status == 200 } != nil)
        let body = try Peers.admin(admin, "/config").body
        #expect(body.contains("\"address\":\"127.0.0.1:\(ports["a"]!)\",\"weight\":10"), "\(body)")
        #expect(body.contains("\"address\":\"127.0.0.1:\(ports["b"]!)\",\"weight\":30"), "\(body)")
        #expect(!body.contains("127.0.0.1:\(ports["c"]!)"), "priority 1 is a fallback, not used while priority 0 answers")
        let counts = Dictionary(grouping: try answers(port: proxyPort, host: "web.test", count: 40), by: { $0 }).mapValues(\.count)
        #expect(counts == ["a": 10, "b": 30], "\(counts)")
    }

    @Test("file: a file renamed over the path and a symlink swap (a ConfigMap update) are followed; a broken file keeps the last set")
    func file() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["a", "b", "c"])
        defer { upstreams.stop() }
        func list(_ names: [String]) -> String {
            "{\"endpoints\": [" + names.map { "{\"address\": \"127.0.0.1:\(ports[$0]!)\"}" }.joined(separator: ", ") + "]}"
        }
        // A ConfigMap volume: `endpoints.json` -> `..data/endpoints.json`, `..data` -> a versioned folder.
        let volume = URL(fileURLWithPath: try FixturePlugin.writeFile(named: "README", contents: "a ConfigMap volume\n")).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: volume.appendingPathComponent("v1"), withIntermediateDirectories: true)
        try list(["a"]).write(to: volume.appendingPathComponent("v1/endpoints.json"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: volume.appendingPathComponent("..data").path, withDestinationPath: "v1")
        let path = volume.appendingPathComponent("endpoints.json").path
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "..data/endpoints.json")

        let (proxy, proxyPort) = try Peers.proxy(
            config: config(authority: "web.test:80", discovery: "{ name: file, config: { path: \"\(path)\", interval: 100ms } }"))
        defer { proxy.stop() }
        let admin = try Peers.adminPort(of: proxy)
        #expect(try wait { try Peers.admin(admin, "/ready").status == 200 } != nil)
        #expect(Set(try answers(port: proxyPort, host: "web.test")) == ["a"])
        let state = try Peers.admin(admin, "/state").body
        #expect(state.contains(#""discovery":{"name":"file","state":"synced"}"#), "\(state)")

        // The kubelet's swap: a new versioned folder, then `..data` renamed to point at it.
        try FileManager.default.createDirectory(at: volume.appendingPathComponent("v2"), withIntermediateDirectories: true)
        try list(["b"]).write(to: volume.appendingPathComponent("v2/endpoints.json"), atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: volume.appendingPathComponent("..data_tmp").path, withDestinationPath: "v2")
        #expect(rename(volume.appendingPathComponent("..data_tmp").path, volume.appendingPathComponent("..data").path) == 0)
        #expect(try wait(5) { Set(try answers(port: proxyPort, host: "web.test", count: 2)) == ["b"] } != nil)

        // A file renamed over the one the link names.
        try list(["b", "c"]).write(to: volume.appendingPathComponent("v2/next.json"), atomically: false, encoding: .utf8)
        #expect(rename(volume.appendingPathComponent("v2/next.json").path, volume.appendingPathComponent("v2/endpoints.json").path) == 0)
        #expect(try wait(5) { Set(try answers(port: proxyPort, host: "web.test", count: 2)) == ["b", "c"] } != nil)

        // A broken file: an error, and the last set serves.
        try "{\"endpoints\": [".write(to: volume.appendingPathComponent("v2/endpoints.json"), atomically: true, encoding: .utf8)
        #expect(try wait(5) { try live(admin: admin).state == "error" } != nil)
        #expect(Set(try answers(port: proxyPort, host: "web.test")) == ["b", "c"])
        #expect(try proxy.waitForLine(containing: "discovery file failed").contains("invalid JSON"))
    }

    @Test("etcd: two proxies on one prefix route to a put endpoint within 1 s and stop within 1 s of its delete; lease expiry, compaction, etcd down and back")
    func etcd() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["a", "b", "c"])
        defer { upstreams.stop() }
        let etcd = try DiscoverySources.Etcd()
        defer { etcd.stop() }
        func value(_ name: String) -> String { "{\"Addr\": \"127.0.0.1:\(ports[name]!)\"}" }
        try etcd.put("/services/web/a", value("a"))
        let discovery = "{ name: etcd, config: { endpoints: [\"\(etcd.url)\"], prefix: /services/web/ } }"
        let proxies = try (0..<2).map { _ in try Peers.proxy(config: config(authority: "web.test:80", discovery: discovery)) }
        defer { for (proxy, _) in proxies { proxy.stop() } }
        let admins = try proxies.map { try Peers.adminPort(of: $0.0) }
        for admin in admins { #expect(try wait { try Peers.admin(admin, "/ready").status == 200 } != nil) }
        for (_, port) in proxies { #expect(Set(try answers(port: port, host: "web.test")) == ["a"]) }
        let b = "127.0.0.1:\(ports["b"]!)"

        // Scale-out across proxies: both route to a newly put endpoint within 1 s.
        try etcd.put("/services/web/b", "{\"address\": \"\(b)\", \"weight\": 2, \"labels\": {\"dst_pod\": \"web-b\"}}")
        for admin in admins {
            let took = try wait(5) { try live(admin: admin).addresses.contains(b) }
            #expect(took != nil && took! < 1, "took \(String(describing: took)) s")
        }
        for (_, port) in proxies { #expect(Set(try answers(port: port, host: "web.test", count: 4)) == ["a", "b"]) }
        // ... and both stop within 1 s of its delete.
        try etcd.delete("/services/web/b")
        for admin in admins {
            let took = try wait(5) { try !live(admin: admin).addresses.contains(b) }
            #expect(took != nil && took! < 1, "took \(String(describing: took)) s")
        }
        for (_, port) in proxies { #expect(Set(try answers(port: port, host: "web.test")) == ["a"]) }

        // A leased key leaves when its lease expires.
        let lease = try etcd.grantLease(seconds: 2)
        try etcd.put("/services/web/c", value("c"), lease: lease)
        #expect(try wait(5) { try live(admin: admins[0]).addresses.count == 2 } != nil)
        #expect(try wait(10) { try live(admin: admins[0]).addresses == ["127.0.0.1:\(ports["a"]!)"] } != nil)

        // Compaction does not lose the watch.
        try etcd.ctl(["compact", String(try etcd.revision())])
        try etcd.put("/services/web/b", value("b"))
        #expect(try wait(5) { try live(admin: admins[0]).addresses.contains(b) } != nil)

        // etcd down: the last set serves; back: synced, and changes flow again.
        etcd.stop()
        for admin in admins { #expect(try wait { try live(admin: admin).state == "error" } != nil) }
        for (_, port) in proxies { #expect(Set(try answers(port: port, host: "web.test", count: 4)) == ["a", "b"]) }
        try etcd.start()
        for admin in admins { #expect(try wait(40) { try live(admin: admin).state == "synced" } != nil) }
        try etcd.delete("/services/web/a")
        for admin in admins { #expect(try wait(5) { try live(admin: admin).addresses == [b] } != nil) }
    }
}
