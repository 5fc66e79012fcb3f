import Foundation
import SwitchyardTestSupport
import Testing

/// Connection-level abuse over real sockets, each test with its own proxy: a flood past
/// `limits.connections`, and an HTTP/2 upstream that says GOAWAY.
@Suite("Connection attacks")
struct ConnectionAttackTests {
    @Test("past limits.connections a connection is closed as it is accepted and counted; the admin port answers")
    func connectionLimit() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["capped"])
        defer { upstreams.stop() }
        let (capped, cappedPort) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                limits: { connections: 20 }
                services: [{ authority: capped.test.svc.cluster.local:80 }]
                backends: [{ authority: capped.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(ports["capped"]!) }] }]
                """)
        defer { capped.stop() }
        let admin = try Peers.adminPort(of: capped)
        let script = [
            "python3", "\(BuildProducts.repositoryRoot)/Tests/Fixtures/attacks.py", "connection-flood", String(cappedPort),
            "capped.test.svc.cluster.local", "60", String(admin), "40",
        ]
        let result = try Subprocess.run("/usr/bin/env", script)
        let report = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any] ?? [:]
        #expect(report["opened"] as? Int == 60, "\(report) \(result.standardError)")
        #expect(report["closed"] as? Int == 40, "\(report)")
        #expect(report["live"] as? Int == 200, "\(report)")
        let metrics = try Peers.admin(admin, "/metrics").body
        #expect(Peers.metric(metrics, "switchyard_server_connections_refused_total") == 40)
        // The held connections are gone: the proxy serves again.
        let deadline = Date().addingTimeInterval(10)
        var status = 0
        while status != 200, Date() < deadline {
            status = (try? Curl.request(port: cappedPort, host: "capped.test.svc.cluster.local").status) ?? 0
        }
        #expect(status == 200)
    }

    /// An HTTP/2 upstream fixture (started by `upstream`) and a proxy for one HTTP/2 service at
    /// `authority` in front of it: both processes and the proxy's port (the caller stops both).
    static func rig(_ upstream: (BackgroundProcess, Int), authority: String) throws -> (BackgroundProcess, BackgroundProcess, Int) {
        do {
            let (proxy, port) = try proxy(authority: authority, http2Upstream: upstream.1)
            return (upstream.0, proxy, port)
        } catch {
            upstream.0.stop()
            throw error
        }
    }

    /// The statuses of `count` requests curl sends to `host` through the proxy on `port` at
    /// once, in order (000 for one that hit curl's 10-second bound).
    static func parallelStatuses(port: Int, host: String, count: Int) throws -> [Substring] {
        let result = try Subprocess.run(
            "/usr/bin/env",
            [
                "curl", "-s", "--parallel", "--parallel-immediate", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}\n",
                "-H", "host: \(host)", "http://127.0.0.1:\(port)/[1-\(count)]",
            ], timeout: 30)
        return result.standardOutput.split(separator: "\n")
    }

    /// A proxy for one HTTP/2 service at `authority`, to the upstream on `port`.
    static func proxy(authority: String, http2Upstream port: Int) throws -> (BackgroundProcess, Int) {
        try Peers.proxy(authority: authority, protocol: "http2", upstreamPort: port)
    }

    @Test("an HTTP/2 upstream that says GOAWAY ENHANCE_YOUR_CALM with four requests in flight, on two connections: each request goes again once (none was processed), then gets a 502 (none hangs); the next goes on a new connection, the old ones close")
    func upstreamCalm() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.calmUpstream(held: 4), authority: "calm.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        // A request that hung would end at curl's --max-time with code 000.
        #expect(try Self.parallelStatuses(port: proxyPort, host: "calm.test.svc.cluster.local", count: 4) == ["502", "502", "502", "502"])
        let after = try Curl.request(port: proxyPort, host: "calm.test.svc.cluster.local", http2: true)
        #expect(after.status == 200 && after.body == "after calm\n", "\(after)")
        _ = try upstream.waitForLine(containing: "connection 1 closed by the peer", timeout: 10)
        _ = try upstream.waitForLine(containing: "connection 2 closed by the peer", timeout: 10)
    }

    @Test("a stream that ended both ways is never reset: an HTTP/2 upstream sees no RST_STREAM for 30 finished requests (servers count resets as a flood)")
    func noResetAfterCleanEnd() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.countingUpstream(), authority: "counted.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        for _ in 1...30 {
            let response = try Curl.request(port: proxyPort, host: "counted.test.svc.cluster.local", http2: true)
            #expect(response.status == 200 && response.body == "ok\n", "\(response)")
        }
        // A reset would follow each answer on the same connection; the upstream prints one as
        // soon as it reads it. Stopping the proxy ends the connection after the last.
        proxy.stop()
        let deadline = Date().addingTimeInterval(10)
        while upstream.text.components(separatedBy: "answered ").count - 1 < 30, Date() < deadline { usleep(20_000) }
        #expect(upstream.text.components(separatedBy: "answered ").count - 1 == 30, "\(upstream.text)")
        #expect(!upstream.text.contains("reset "), "\(upstream.text)")
    }

    @Test("an HTTP/2 upstream that says GOAWAY: the next request goes on a new connection, the old one closes")
    func upstreamGoAway() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.goAwayUpstream(), authority: "graceful.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        for connection in 1...3 {
            let response = try Curl.request(port: proxyPort, host: "graceful.test.svc.cluster.local", http2: true)
            #expect(response.status == 200, "\(response)")
            #expect(response.body == "served by connection \(connection)\n")
        }
        // The proxy closes a connection that said GOAWAY once its last stream is done.
        _ = try upstream.waitForLine(containing: "connection 1 closed by the peer", timeout: 10)
    }

    @Test("HTTP/2 both ways: a request's HEADERS go upstream at once, though the client has not ended it (the upstream answers first), also when the upstream connection is up already")
    func headersGoUpstreamAtOnce() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.eagerUpstream(), authority: "eager.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        let report = try Attacks.run("h2-stream", port: proxyPort, host: "eager.test.svc.cluster.local", "headers-first")
        #expect(report["statuses"] as? [Int] == [200, 200], "\(report)")
    }

    @Test("HTTP/2 both ways: a body past the client stream's watermark with trailers right behind it arrives whole, trailers included, on a connection that stays sound")
    func bodyPastWatermarkThenTrailers() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.trailersUpstream(), authority: "trailers.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        for _ in 1...3 {
            let report = try Attacks.http2Request(port: proxyPort, host: "trailers.test.svc.cluster.local", path: "/", headers: [])
            #expect(report["status"] as? Int == 200, "\(report)")
            #expect((report["body"] as? String)?.count == 12000, "\(report["body"] as? String ?? "")")
            #expect((report["trailers"] as? [String: String])?["x-checksum"] == "ok", "\(report)")
        }
    }

    @Test("requests queued behind an HTTP/2 upstream's concurrency limit when it says GOAWAY never reached it: they go again on a new connection at once (none hangs), the one it holds is answered")
    func queuedStreamsAtGoAway() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.narrowUpstream(), authority: "narrow.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        // The connection is up, and the upstream's limit known, before the three go.
        #expect(try Curl.request(port: proxyPort, host: "narrow.test.svc.cluster.local").body == "warm\n")
        let started = Date()
        #expect(try Self.parallelStatuses(port: proxyPort, host: "narrow.test.svc.cluster.local", count: 3) == ["200", "200", "200"])
        #expect(Date().timeIntervalSince(started) < 8, "a queued request waited for curl's bound")
        _ = try upstream.waitForLine(containing: "again 2", timeout: 10)
    }

    @Test("requests queued behind an HTTP/2 upstream's concurrency limit keep their frames when it raises its initial window meanwhile: each is answered")
    func queuedStreamsAtWindowRaise() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.narrowUpstream("raise-window"), authority: "narrow.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        // The connection up first: its SETTINGS known, the proxy queues past its limit.
        #expect(try Curl.request(port: proxyPort, host: "narrow.test.svc.cluster.local").status == 200)
        #expect(try Self.parallelStatuses(port: proxyPort, host: "narrow.test.svc.cluster.local", count: 3) == ["200", "200", "200"])
        _ = try upstream.waitForLine(containing: "answered 4", timeout: 10)
    }

    @Test("an HTTP/2 upstream's malformed response block (an uppercase field name) is a 502 that says so, never forwarded")
    func malformedUpstreamBlock() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.hostileUpstream("uppercase-field"), authority: "bad.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        let response = try Curl.request(port: proxyPort, host: "bad.test.svc.cluster.local")
        #expect(response.status == 502, "\(response)")
        #expect(response.body.contains("malformed field block"), "\(response.body)")
    }

    @Test(
        "an HTTP/2 upstream that breaks the protocol at the connection level: GOAWAY and a closed connection, a 502 for the client (none hangs), and the proxy still serves",
        arguments: ["window-update-overflow", "ping-flood", "settings-flood", "push-promise", "idle-stream", "oversized-frame", "no-settings"])
    func upstreamConnectionError(kind: String) throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.hostileUpstream(kind), authority: "bad.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        let response = try Curl.request(port: proxyPort, host: "bad.test.svc.cluster.local")
        #expect(response.status == 502, "\(kind): \(response)")
        _ = try upstream.waitForLine(containing: "peer closed", timeout: 30)
        // The next request goes on a new connection, which meets the same attack.
        #expect(try Curl.request(port: proxyPort, host: "bad.test.svc.cluster.local").status == 502, "\(kind)")
        #expect((proxy.peakResidentKiB ?? 0) < 300 * 1024, "\(kind): peak RSS \(proxy.peakResidentKiB ?? 0) KiB")
    }

    @Test("an HTTP/2 upstream's body longer than its content-length never reaches the client, whose response is cut short; the stream is reset with PROTOCOL_ERROR")
    func upstreamContentLengthMismatch() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.hostileUpstream("content-length"), authority: "bad.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        // Forwarded, the 10 bytes past the length would be the next response on the client's
        // keep-alive connection.
        let result = try Subprocess.run(
            "/usr/bin/env", ["curl", "-s", "-i", "--max-time", "10", "-H", "host: bad.test.svc.cluster.local", "http://127.0.0.1:\(proxyPort)/"], timeout: 30)
        #expect(result.status != 0, "\(result.standardOutput)")
        #expect(!result.standardOutput.contains(String(repeating: "x", count: 11)), "\(result.standardOutput)")
        _ = try upstream.waitForLine(containing: "reset 1", timeout: 15)
    }

    @Test("an HTTP/2 upstream's body after a 204 never reaches an HTTP/2 client; the stream is reset with PROTOCOL_ERROR")
    func upstreamBodyAfter204() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.hostileUpstream("body-after-204"), authority: "bad.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        let result = try Subprocess.run(
            "/usr/bin/env",
            ["curl", "-s", "-i", "--http2-prior-knowledge", "--max-time", "10", "-H", "host: bad.test.svc.cluster.local", "http://127.0.0.1:\(proxyPort)/"],
            timeout: 30)
        #expect(!result.standardOutput.contains("xxxx"), "\(result.standardOutput)")
        _ = try upstream.waitForLine(containing: "reset 1", timeout: 15)
    }

    @Test("an HTTP/2 upstream that ignores the windows while the client reads slowly gets FLOW_CONTROL_ERROR (its stream reset, or its connection ended), past one window: the proxy's memory stays bounded")
    func upstreamIgnoresWindow() throws {
        let (upstream, proxy, proxyPort) = try Self.rig(Attacks.hostileUpstream("window-ignored"), authority: "bad.test.svc.cluster.local:80")
        defer { proxy.stop(); upstream.stop() }
        let client = try BackgroundProcess(
            "/usr/bin/env",
            ["curl", "-s", "--limit-rate", "1k", "--max-time", "40", "-o", "/dev/null", "-H", "host: bad.test.svc.cluster.local", "http://127.0.0.1:\(proxyPort)/"])
        defer { client.stop() }
        _ = try upstream.waitForLine(containing: "FLOW_CONTROL_ERROR by", timeout: 40)
        #expect((proxy.peakResidentKiB ?? 0) < 300 * 1024, "peak RSS \(proxy.peakResidentKiB ?? 0) KiB")
    }
}
