import Foundation
import SwitchyardTestSupport
import Testing

/// The access log over real sockets: one line per request, answered by an upstream or by the
/// proxy, in JSON or text; SIGUSR1 reopens the file after a rotation moved it.
@Suite("Access log")
struct AccessLogTests {
    static let host = "web.test.svc.cluster.local"

    func config(ports: [String: Int], path: String, format: String) -> String {
        """
        listen: 127.0.0.1:0
        accessLog: { path: \(path), format: \(format) }
        services:
          - authority: \(Self.host):80
            routes:
              - metadata: { group: policy.linkerd.io, kind: HTTPRoute, namespace: test, name: web-route }
                rules:
                  - matches: [{ path: { prefix: /down } }]
                    backends: [{ fail: { message: down } }]
                  - backends: [{ service: \(Self.host):80 }]
        backends: [{ authority: \(Self.host):80, endpoints: [{ address: 127.0.0.1:\(ports["web"]!) }] }]
        """
    }

    /// The file's lines once it holds `count` (the writer flushes every 50 ms).
    func lines(_ path: String, count: Int) -> [String] {
        let deadline = Date().addingTimeInterval(10)
        var lines: [String] = []
        while Date() < deadline {
            lines = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            if lines.count >= count { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return lines
    }

    @Test("JSON: one object per request with the request, status, error, route, backend, endpoint, bytes and timings")
    func json() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["web"])
        defer { upstreams.stop() }
        let path = try FixturePlugin.writeFile(named: "access.log", contents: "")
        let (proxy, port) = try Peers.proxy(config: config(ports: ports, path: path, format: "json"))
        defer { proxy.stop() }
        #expect(try Curl.request(port: port, host: Self.host, path: "/hello?x=1").status == 200)
        #expect(try Curl.request(port: port, host: Self.host, path: "/down").status == 502)
        #expect(try Curl.request(port: port, host: "nope.test", path: "/").status == 404)
        // An HTTP/2 CONNECT (501), then a GET on the same connection.
        #expect(try Attacks.run("h2-stream", port: port, host: Self.host, "connect")["status"] as? Int == 501)
        let lines = lines(path, count: 5)
        #expect(lines.count == 5, "\(lines)")
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        try #require(objects.count == 5)
        let ok = objects[0]
        #expect(ok["method"] as? String == "GET" && ok["authority"] as? String == Self.host && ok["path"] as? String == "/hello?x=1")
        #expect(ok["protocol"] as? String == "HTTP/1.1" && ok["status"] as? Int == 200 && ok["error"] as? String == "")
        #expect((ok["client"] as? String)?.hasPrefix("127.0.0.1:") == true)
        #expect(ok["endpoint"] as? String == "127.0.0.1:\(ports["web"]!)")
        #expect((ok["route"] as? String)?.contains("web-route") == true && (ok["backend"] as? String)?.contains("web") == true)
        #expect(ok["response_bytes"] as? Int == "hello from web\n".utf8.count)
        #expect((ok["duration_ms"] as? Double ?? -1) >= 0 && (ok["upstream_ms"] as? Double ?? -1) >= 0)
        #expect(objects[1]["status"] as? Int == 502 && objects[1]["error"] as? String == "BAD_GATEWAY", "\(objects[1])")
        #expect(objects[2]["status"] as? Int == 404 && objects[2]["route"] is NSNull, "\(objects[2])")
        let connect = objects[3]
        #expect(connect["method"] as? String == "CONNECT" && connect["authority"] as? String == Self.host, "\(connect)")
        #expect(connect["path"] as? String == Self.host && connect["protocol"] as? String == "HTTP/2.0", "\(connect)")
        #expect(connect["status"] as? Int == 501 && connect["route"] is NSNull, "\(connect)")
        #expect(objects[4]["status"] as? Int == 200 && objects[4]["protocol"] as? String == "HTTP/2.0", "\(objects[4])")
    }

    @Test("text: one line per request; SIGUSR1 reopens the file a rotation moved away")
    func textAndRotation() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["web"])
        defer { upstreams.stop() }
        let path = try FixturePlugin.writeFile(named: "access.log", contents: "")
        let (proxy, port) = try Peers.proxy(config: config(ports: ports, path: path, format: "text"))
        defer { proxy.stop() }
        #expect(try Curl.request(port: port, host: Self.host, path: "/one").status == 200)
        let first = lines(path, count: 1)
        #expect(first.count == 1)
        #expect(first.first?.contains(#" "GET web.test.svc.cluster.local /one HTTP/1.1" 200 grpc_status=- error=- route="#) == true, "\(first)")
        #expect(first.first?.contains(" endpoint=127.0.0.1:\(ports["web"]!) request_bytes=0 response_bytes=15 ") == true, "\(first)")

        #expect(rename(path, path + ".1") == 0)
        proxy.send(SIGUSR1)
        _ = try proxy.waitForLine(containing: "access log reopened")
        #expect(try Curl.request(port: port, host: Self.host, path: "/two").status == 200)
        let rotated = lines(path, count: 1)
        #expect(rotated.count == 1 && rotated.first?.contains(" /two HTTP/1.1\" 200 ") == true, "\(rotated)")
        #expect(lines(path + ".1", count: 1).count == 1)
    }

    @Test("a file that cannot be opened is a startup error naming accessLog.path")
    func unopenable() throws {
        let config = try FixturePlugin.writeFile(
            named: "switchyard.yaml",
            contents: "listen: 127.0.0.1:0\naccessLog: { path: /nonexistent-\(UUID().uuidString)/access.log }\n")
        let result = try Subprocess.run(BuildProducts.switchyard, ["run", "--config", config, "--admin", "127.0.0.1:0"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("accessLog.path: cannot open /nonexistent-"), "\(result.standardError)")
    }
}
