import Foundation
import SwitchyardTestSupport
import Testing

/// Attacks over real sockets (`Tests/Fixtures/attacks.py`): request smuggling into the shared
/// upstream pool, malformed heads, HTTP/2 connection-level abuse from a client and from an
/// upstream. Each asserts the answer, that nothing reached the upstream that should not, and
/// that the proxy still serves; floods also assert memory stayed bounded.
@Suite("Hostile input", .serialized)
final class HostileInputTests {
    static let host = "web.test.svc.cluster.local"
    let upstreams: BackgroundProcess
    let hostile: BackgroundProcess
    let proxy: BackgroundProcess
    let port: Int

    init() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["web"])
        self.upstreams = upstreams
        let (hostile, hostilePort) = try Attacks.hostileUpstream("continuation-flood")
        self.hostile = hostile
        let config = """
            listen: 127.0.0.1:0
            services:
              - authority: \(Self.host):80
              - authority: hostile.test.svc.cluster.local:80
                protocol: http2
            backends:
              - { authority: \(Self.host):80, endpoints: [{ address: 127.0.0.1:\(ports["web"]!) }] }
              - { authority: hostile.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(hostilePort) }] }
            """
        (proxy, port) = try Peers.proxy(config: config)
    }

    deinit {
        proxy.stop()
        hostile.stop()
        upstreams.stop()
    }

    /// The proxy is up and proxies a plain request.
    func expectServing(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let response = try Curl.request(port: port, host: Self.host)
        #expect(response.status == 200, sourceLocation: sourceLocation)
        #expect(proxy.isRunning, sourceLocation: sourceLocation)
    }

    func echo(_ report: [String: Any], _ side: String) throws -> (status: Int, json: [String: Any]) {
        let exchange = try #require(report[side] as? [String: Any])
        let status = exchange["status"] as? Int ?? 0
        let body = exchange["body"] as? String ?? ""
        let line = body.split(separator: "\n").dropFirst().first.map(String.init) ?? "{}"
        let json = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
        return (status, json)
    }

    // MARK: Smuggling

    @Test(
        "a body the client framed reaches the upstream framed, never as a request of its own",
        arguments: ["connection-content-length", "chunked-get"])
    func smuggledBody(kind: String) throws {
        let report = try Attacks.run("smuggle", port: port, host: Self.host, kind)
        let attacker = try echo(report, "attacker")
        #expect(attacker.status == 200)
        #expect(attacker.json["path"] as? String == "/?echo")
        #expect(attacker.json["body_bytes"] as? Int == 69, "the upstream read the whole body as this request's")
        let victim = try echo(report, "victim")
        #expect(victim.status == 200)
        #expect(victim.json["path"] as? String == "/victim?echo")
        #expect(!upstreams.text.contains("/smuggled"), "\(upstreams.text)")
        try expectServing()
    }

    @Test("Connection: host does not remove Host")
    func connectionHost() throws {
        let report = try Attacks.run("smuggle", port: port, host: Self.host, "connection-host")
        let attacker = try echo(report, "attacker")
        let headers = attacker.json["headers"] as? [String: String] ?? [:]
        #expect(headers["host"] == Self.host)
    }

    @Test("an HTTP/2 GET with DATA frames and no length reaches an HTTP/1.1 upstream chunked")
    func http2SmuggledBody() throws {
        let report = try Attacks.run("h2-smuggle", port: port, host: Self.host)
        let attacker = try echo(report, "attacker")
        #expect(attacker.status == 200)
        #expect(attacker.json["body_bytes"] as? Int == 69)
        let victim = try echo(report, "victim")
        #expect(victim.json["path"] as? String == "/victim?echo")
        #expect(!upstreams.text.contains("/smuggled"), "\(upstreams.text)")
    }

    // MARK: Malformed heads

    /// Sends `raw` on a new connection: the status, and whether the proxy closed it after.
    func raw(_ raw: String) throws -> (status: Int, closed: Bool, message: String) {
        let script = """
            import sys; sys.path.insert(0, "\(BuildProducts.repositoryRoot)/Tests/Fixtures")
            import attacks, json
            r = attacks.h1_exchange(\(port), "", \(pythonBytes(raw)), wait_for_close=3)
            print(json.dumps(r))
            """
        let result = try Subprocess.run("/usr/bin/env", ["python3", "-c", script])
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any] ?? [:]
        let headers = object["headers"] as? [String: String] ?? [:]
        return (object["status"] as? Int ?? 0, object["closed"] as? Bool ?? false, headers["switchyard-proxy-error"] ?? "")
    }

    private func pythonBytes(_ text: String) -> String {
        "bytes.fromhex('" + text.utf8.map { String(format: "%02x", $0) }.joined() + "')"
    }

    @Test(
        "a malformed head is answered 4xx/501 and the connection closes",
        arguments: [
            ("GET /malformed HTTP/1.1\r\nHost: \(host)\r\nHost: other.test\r\n\r\n", 400, "more than one Host header"),
            ("GET /malformed HTTP/1.1\r\n\r\n", 400, "missing Host header"),
            ("GET http://other.test/malformed HTTP/1.1\r\nHost: \(host)\r\n\r\n", 400, "Host does not match the request target's authority"),
            ("POST /malformed HTTP/1.1\r\nHost: \(host)\r\nTransfer-Encoding: \r\nContent-Length: 2\r\n\r\nok", 400,
             "both Content-Length and Transfer-Encoding"),
            ("POST /malformed HTTP/1.1\r\nHost: \(host)\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
             "unsupported Transfer-Encoding (only chunked is)"),
        ])
    func malformedHead(request: String, status: Int, message: String) throws {
        let answer = try raw(request)
        #expect(answer.status == status)
        #expect(answer.message == message)
        #expect(answer.closed)
        #expect(!upstreams.text.contains("/malformed"))
        try expectServing()
    }

    @Test("a request pipelined behind a refused one is never routed: the connection closed under it")
    func pipelinedAfterRefusal() throws {
        let answer = try raw(
            "GET /refused HTTP/1.1\r\nHost: \(Self.host)\r\nHost: other.test\r\n\r\n"
                + "GET /pipelined-after-refusal HTTP/1.1\r\nHost: \(Self.host)\r\n\r\n")
        #expect(answer.status == 400)
        #expect(answer.closed)
        try expectServing()
        #expect(!upstreams.text.contains("/pipelined-after-refusal"))
        #expect(proxy.isRunning)
    }

    @Test("an absolute-form target naming the Host's authority is routed in origin form")
    func absoluteForm() throws {
        let answer = try raw("GET http://\(Self.host)/absolute HTTP/1.1\r\nHost: \(Self.host)\r\nConnection: close\r\n\r\n")
        #expect(answer.status == 200)
        _ = try upstreams.waitForLine(containing: "request web GET /absolute", timeout: 10)
    }

    @Test("more request headers than limits.requestHeaders: 431")
    func tooManyHeaders() throws {
        let headers = (0..<101).map { "x-h\($0): v\r\n" }.joined()
        let answer = try raw("GET /many HTTP/1.1\r\nHost: \(Self.host)\r\n\(headers)\r\n")
        #expect(answer.status == 431)
        #expect(answer.closed)
        #expect(!upstreams.text.contains("/many"))
    }

    // MARK: HTTP/2 connection errors

    @Test(
        "an HTTP/2 connection error ends with GOAWAY and a closed socket",
        arguments: [
            "continuation-flood", "hpack-bomb", "window-update-overflow", "stream-id-reuse", "data-on-closed-stream",
            "settings-flood", "ping-flood",
        ])
    func http2ConnectionError(kind: String) throws {
        let report = try Attacks.run("h2", port: port, host: Self.host, kind)
        #expect(report["goaway"] as? Int != nil, "\(report)")
        #expect(report["goaway"] as? Int != 0, "\(report)")
        #expect(report["closed"] as? Bool == true, "\(report)")
        if let answered = report["answered"] as? Bool { #expect(answered, "the request before the violation was answered: \(report)") }
        try expectServing()
        #expect((proxy.peakResidentKiB ?? 0) < 300 * 1024, "peak RSS \(proxy.peakResidentKiB ?? 0) KiB")
    }

    @Test("an HTTP/2 upstream flooding CONTINUATION frames: 502, its connection closed, memory bounded")
    func hostileUpstream() throws {
        let response = try Curl.request(port: port, host: "hostile.test.svc.cluster.local", http2: true)
        #expect(response.status == 502)
        _ = try hostile.waitForLine(containing: "peer closed", timeout: 30)
        try expectServing()
        #expect((proxy.peakResidentKiB ?? 0) < 300 * 1024, "peak RSS \(proxy.peakResidentKiB ?? 0) KiB")
    }

    // MARK: Connection limit and HTTP/1.0

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

    @Test("an HTTP/1.0 keep-alive client is answered keep-alive and its connection stays open")
    func http10KeepAlive() throws {
        let script = """
            import sys; sys.path.insert(0, "\(BuildProducts.repositoryRoot)/Tests/Fixtures")
            import attacks, json
            s = attacks.connect(\(port))
            answers = []
            for path in ("/one", "/two"):
                s.sendall(("GET " + path + " HTTP/1.0\\r\\nHost: \(Self.host)\\r\\nConnection: keep-alive\\r\\n\\r\\n").encode())
                status, headers, body, closed = attacks.read_response(s)
                answers.append({"status": status, "connection": headers.get("connection"), "closed": closed})
            print(json.dumps(answers))
            """
        let result = try Subprocess.run("/usr/bin/env", ["python3", "-c", script])
        let answers = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [[String: Any]] ?? []
        #expect(answers.count == 2, "\(result.standardOutput) \(result.standardError)")
        for answer in answers {
            #expect(answer["status"] as? Int == 200)
            #expect(answer["connection"] as? String == "keep-alive")
            #expect(answer["closed"] as? Bool == false)
        }
    }

    @Test("an HTTP/2 upstream that says GOAWAY: the next request goes on a new connection, the old one closes")
    func upstreamGoAway() throws {
        let (upstream, upstreamPort) = try Attacks.goAwayUpstream()
        defer { upstream.stop() }
        let (proxy, proxyPort) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                services: [{ authority: graceful.test.svc.cluster.local:80, protocol: http2 }]
                backends: [{ authority: graceful.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(upstreamPort) }] }]
                """)
        defer { proxy.stop() }
        for connection in 1...3 {
            let response = try Curl.request(port: proxyPort, host: "graceful.test.svc.cluster.local", http2: true)
            #expect(response.status == 200, "\(response)")
            #expect(response.body == "served by connection \(connection)\n")
        }
        // The proxy closes a connection that said GOAWAY once its last stream is done.
        _ = try upstream.waitForLine(containing: "connection 1 closed by the peer", timeout: 10)
    }
}
