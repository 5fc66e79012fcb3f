import Foundation
import SwitchyardTestSupport
import Testing

/// Routing over real sockets: curl → switchyard → Python upstreams, each upstream answering
/// `hello from <name>` so the body says which rule's backend got the request. (Precedence,
/// filters and distributions in full are `RequestRouterTests`, in-process.)
@Suite("Routing end to end", .serialized)
final class RoutingEndToEndTests {
    let upstreams: BackgroundProcess
    let proxy: BackgroundProcess
    let port: Int
    let host = "web.test.svc.cluster.local"

    init() throws {
        let names = ["a", "b", "d", "g"]
        let (upstreams, ports) = try Peers.httpUpstreams(names)
        self.upstreams = upstreams
        func to(_ name: String) -> String { "{ service: \(name).test.svc.cluster.local:80 }" }
        let config = """
            listen: 127.0.0.1:0
            services:
              - authority: web.test.svc.cluster.local:80
                routes:
                  - metadata: { group: policy.linkerd.io, kind: HTTPRoute, namespace: test, name: main }
                    rules:
                      - matches: [{ path: { prefix: /api } }]
                        backends: [\(to("a"))]
                      - matches: [{ path: { prefix: /api/v2 } }]
                        backends: [\(to("b"))]
                      - matches: [{ path: { prefix: /api }, headers: [{ name: X-Canary, exact: "1" }] }]
                        backends: [\(to("d"))]
                      - matches: [{ path: { regex: "/items/[0-9]+" } }]
                        backends: [\(to("g"))]
                      - matches: [{ path: { prefix: /hdr } }]
                        filters: [{ requestHeaderModifier: { set: { x-routed: "yes" }, add: { x-added: "1" }, remove: [x-drop] } }]
                        backends: [\(to("a"))]
            backends:
            \(names.map { "  - { authority: \($0).test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(ports[$0]!) }] }" }.joined(separator: "\n"))
            """
        (proxy, port) = try Peers.proxy(config: config)
    }

    deinit {
        proxy.stop()
        upstreams.stop()
    }

    func served(_ path: String, method: String? = nil, headers: [String] = [], http2: Bool = false) throws -> String {
        let response = try Curl.request(port: port, host: host, path: path, method: method, headers: headers, http2: http2)
        #expect(response.status == 200, "\(path): \(response.status) \(response.body)")
        return response.headers["x-upstream"] ?? "none"
    }

    @Test("the header modifier runs; hop-by-hop headers are not forwarded")
    func headersAndHopByHop() throws {
        let response = try Curl.request(
            port: port, host: host, path: "/hdr?echo",
            headers: ["x-drop: 1", "x-keep: 1", "Connection: x-hop", "x-hop: 1", "keep-alive: timeout=5", "x-routed: no"])
        let json = try #require(response.body.split(separator: "\n").last)
        let echoed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let headers = try #require(echoed["headers"] as? [String: String])
        #expect(headers["x-routed"] == "yes")
        #expect(headers["x-added"] == "1")
        #expect(headers["x-keep"] == "1")
        #expect(headers["x-drop"] == nil)
        #expect(headers["x-hop"] == nil)
        #expect(headers["keep-alive"] == nil)
        #expect(headers["host"] == host)
    }

    @Test("an HTTP/2 request's cookie crumbs reach an HTTP/1.1 upstream as one field, joined with \"; \" (RFC 9113 §8.2.3)")
    func http2CookieCrumbs() throws {
        let response = try Curl.request(
            port: port, host: host, path: "/api/x?echo", headers: ["cookie: a=1", "x-between: 1", "cookie: b=2", "cookie: c=3"], http2: true)
        #expect(response.status == 200, "\(response.body)")
        let json = try #require(response.body.split(separator: "\n").last)
        let echoed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let headers = try #require(echoed["headers"] as? [String: String])
        #expect(headers["cookie"] == "a=1; b=2; c=3", "\(headers)")
        #expect(headers["x-between"] == "1")
    }

    @Test("HTTP/2 with prior knowledge on the same port routes the same way")
    func http2() throws {
        #expect(try served("/api/v2/y", http2: true) == "b")
        #expect(try served("/api/x", headers: ["x-canary: 1"], http2: true) == "d")
    }

    @Test("upstream connections are pooled and reused, for HTTP/1.1 and HTTP/2 clients alike")
    func pooling() throws {
        var connections = Set<String>()
        for http2 in [false, true, false, true] {
            let response = try Curl.request(port: port, host: host, path: "/api/v2/pool", http2: http2)
            #expect(response.headers["x-upstream"] == "b")
            connections.insert(try #require(response.headers["x-connection-id"]))
        }
        #expect(connections.count == 1, "upstream connections used: \(connections)")
    }

    @Test("pipelined HTTP/1.1 requests are answered in order")
    func pipelining() throws {
        let script = """
            import socket
            s = socket.create_connection(("127.0.0.1", \(port)))
            req = "GET {} HTTP/1.1\\r\\nHost: \(host)\\r\\n\\r\\n"
            s.sendall((req.format("/api/v2/y") + req.format("/api/x") + req.format("/items/7")).encode())
            data = b""
            s.settimeout(20)
            while data.count(b"hello from") < 3:
                chunk = s.recv(65536)
                if not chunk: break
                data += chunk
            import re
            print(" ".join(re.findall(r"hello from (\\w+)", data.decode())))
            """
        let result = try Subprocess.run("/usr/bin/env", ["python3", "-c", script])
        #expect(result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "b a g", "\(result.standardError)")
    }
}
