import Foundation
import SwitchyardTestSupport
import Testing

/// Every error row of DESIGN.md §7 for HTTP, over real sockets: status, header and body.
@Suite("Error responses")
final class ErrorResponseTests {
    let upstreams: BackgroundProcess
    let proxy: BackgroundProcess
    let port: Int

    init() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["ok"])
        self.upstreams = upstreams
        // A port nothing listens on: bind one, note it, close it.
        let closedPort = try Peers.freePort()
        let config = """
            listen: 127.0.0.1:0
            services:
              - authority: fail.test.svc.cluster.local:80
                routes:
                  - rules:
                      - backends:
                          - fail: { message: down for maintenance }
                            metadata: { group: core, kind: Service, namespace: test, name: web-v3, port: 80 }
              - authority: empty.test.svc.cluster.local:80
              - authority: full.test.svc.cluster.local:80
              - authority: refused.test.svc.cluster.local:80
              - authority: inject.test.svc.cluster.local:80
                routes:
                  - rules:
                      - filters: [{ failureInjector: { status: 503, message: chaos monkey, ratio: 1.0 } }]
                        backends: [{ service: ok.test.svc.cluster.local:80 }]
              - authority: redirect.test.svc.cluster.local:80
                routes:
                  - rules:
                      - filters: [{ requestRedirect: { scheme: https, hostname: example.org, statusCode: 301 } }]
                        backends: [{ service: ok.test.svc.cluster.local:80 }]
              - authority: nobackend.test.svc.cluster.local:80
                routes:
                  - rules:
                      - backends: []
            backends:
              - { authority: ok.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(ports["ok"]!) }] }
              - { authority: empty.test.svc.cluster.local:80, queue: { failfastTimeout: 300ms } }
              - { authority: full.test.svc.cluster.local:80, queue: { capacity: 0 } }
              - { authority: refused.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(closedPort) }] }
            """
        (proxy, port) = try Peers.proxy(config: config)
    }

    deinit {
        proxy.stop()
        upstreams.stop()
    }

    /// One proxy answers every row in turn (each row is its own function below); the same
    /// rows run in-process, one test each, in `RequestRouterTests` and `DataPathTests`.
    @Test("every HTTP row of §7 over real sockets: status, switchyard-proxy-error and body")
    func everyRow() throws {
        try unknownAuthority()
        try failBackend()
        try failFastThenShed()
        try queueFull()
        try connectError()
        try failureInjector()
        try redirect()
        try emptyBackendList()
        try malformedRequest()
    }

    func expectError(_ host: String, path: String = "/", status: Int, message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let response = try Curl.request(port: port, host: host, path: path)
        #expect(response.status == status, "\(host): \(response.body)", sourceLocation: sourceLocation)
        #expect(response.headers["switchyard-proxy-error"] == message, sourceLocation: sourceLocation)
        #expect(response.body == message, sourceLocation: sourceLocation)
    }

    /// no service for the authority: 404
    func unknownAuthority() throws {
        try expectError("nope.test", status: 404, message: "no service for authority nope.test")
    }

    /// a fail backend: 502, named by the metadata it stands for
    func failBackend() throws {
        try expectError("fail.test.svc.cluster.local", status: 502, message: "Service web-v3.test: down for maintenance")
    }

    /// waiting failfastTimeout in the queue: 504; then new requests are shed: 503
    func failFastThenShed() throws {
        try expectError("empty.test.svc.cluster.local", status: 504, message: "Service empty.test: service in fail-fast")
        try expectError(
            "empty.test.svc.cluster.local", status: 503, message: "Service empty.test: service unavailable: load shed while in fail-fast")
    }

    /// a full queue sheds: 503
    func queueFull() throws {
        try expectError("full.test.svc.cluster.local", status: 503, message: "Service full.test: service unavailable: queue is full")
    }

    /// an endpoint refusing connections: 502 naming the address
    func connectError() throws {
        let response = try Curl.request(port: port, host: "refused.test.svc.cluster.local")
        #expect(response.status == 502)
        let message = try #require(response.headers["switchyard-proxy-error"])
        #expect(message.hasPrefix("Service refused.test: connect to 127.0.0.1:"))
        #expect(message.contains("failed"))
        #expect(response.body == message)
    }

    /// the failure injector answers as configured
    func failureInjector() throws {
        try expectError("inject.test.svc.cluster.local", status: 503, message: "chaos monkey")
    }

    /// a redirect answers as configured, with Location
    func redirect() throws {
        let response = try Curl.request(port: port, host: "redirect.test.svc.cluster.local", path: "/a/b?c=1")
        #expect(response.status == 301)
        #expect(response.headers["location"] == "https://example.org/a/b?c=1")
        #expect(response.headers["switchyard-proxy-error"] == "redirected to https://example.org/a/b?c=1")
    }

    /// an empty backend list is never available: 503
    func emptyBackendList() throws {
        try expectError("nobackend.test.svc.cluster.local", status: 503, message: "Service nobackend.test: no backend available")
    }

    /// a malformed request gets a 4xx, and the proxy keeps serving
    func malformedRequest() throws {
        let script = """
            import socket
            s = socket.create_connection(("127.0.0.1", \(port)))
            s.sendall(b"GARBAGE\\r\\n\\r\\n")
            s.settimeout(10)
            print(s.recv(1024).split(b"\\r\\n")[0].decode())
            """
        let result = try Subprocess.run("/usr/bin/env", ["python3", "-c", script])
        #expect(result.standardOutput.hasPrefix("HTTP/1.1 400"), "\(result.standardOutput)")
        #expect(try Curl.request(port: port, host: "inject.test.svc.cluster.local").status == 503)
    }
}
