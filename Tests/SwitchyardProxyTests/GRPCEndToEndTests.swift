import Foundation
import SwitchyardTestSupport
import Testing

/// gRPC through the proxy with Python grpcio on both sides: calls, streams, trailers, and the
/// gRPC form of the error rows.
@Suite("gRPC end to end", .serialized)
final class GRPCEndToEndTests {
    let servers: [BackgroundProcess]
    let proxy: BackgroundProcess
    let port: Int
    let authority = "echo.test.svc.cluster.local:8080"

    init() throws {
        let (server, serverPort) = try Peers.grpcServer("g1")
        servers = [server]
        let config = """
            listen: 127.0.0.1:0
            services:
              - authority: echo.test.svc.cluster.local:8080
                protocol: grpc
                routes:
                  - metadata: { group: policy.linkerd.io, kind: GRPCRoute, namespace: test, name: echo }
                    rules:
                      - matches: [{ rpc: { service: test.Echo, method: Missing } }]
                        backends: [{ fail: { message: no such method here } }]
                      - matches: [{ rpc: { service: test.Echo } }]
                        backends: [{ service: echo.test.svc.cluster.local:8080 }]
              - authority: stuck.test.svc.cluster.local:8080
                protocol: grpc
            backends:
              - { authority: echo.test.svc.cluster.local:8080, endpoints: [{ address: 127.0.0.1:\(serverPort) }] }
              - { authority: stuck.test.svc.cluster.local:8080, queue: { failfastTimeout: 300ms } }
            """
        (proxy, port) = try Peers.proxy(config: config)
    }

    deinit {
        proxy.stop()
        for server in servers { server.stop() }
    }

    @Test("a unary call works, with its trailers intact")
    func unary() throws {
        let result = try Peers.grpcCall(port: port, authority: authority, method: "Unary", argument: "ping")
        #expect(result["code"] as? String == "OK")
        #expect(result["message"] as? String == "unary from g1: ping")
        #expect((result["trailers"] as? [String: String])?["x-served-by"] == "g1")
    }

    @Test("a server-streaming call delivers every message and the trailers")
    func serverStreaming() throws {
        let result = try Peers.grpcCall(port: port, authority: authority, method: "Stream", argument: "5")
        #expect(result["code"] as? String == "OK")
        #expect(result["messages"] as? [String] == (0..<5).map { "message \($0) from g1" })
        #expect((result["trailers"] as? [String: String])?["x-served-by"] == "g1")
    }

    @Test("an upstream status (UNAVAILABLE, trailers-only) passes through")
    func upstreamStatus() throws {
        let result = try Peers.grpcCall(port: port, authority: authority, method: "Fail")
        #expect(result["code"] as? String == "UNAVAILABLE")
        #expect(result["details"] as? String == "g1 is unavailable")
    }

    func expectGRPCError(_ authority: String, method: String, code: String, message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try Peers.grpcCall(port: port, authority: authority, method: method)
        #expect(result["code"] as? String == code, "\(result)", sourceLocation: sourceLocation)
        #expect(result["details"] as? String == message, sourceLocation: sourceLocation)
        #expect((result["initial"] as? [String: String])?["switchyard-proxy-error"] == message, sourceLocation: sourceLocation)
    }

    @Test("gRPC error rows: NOT_FOUND, UNAVAILABLE, DEADLINE_EXCEEDED")
    func errorRows() throws {
        try expectGRPCError("nope.test:8080", method: "Unary", code: "NOT_FOUND", message: "no service for authority nope.test:8080")
        try expectGRPCError(authority, method: "other.Service/Call", code: "NOT_FOUND", message: "Service echo.test: no route")
        try expectGRPCError(authority, method: "Missing", code: "UNAVAILABLE", message: "default fail: no such method here")
        try expectGRPCError("stuck.test.svc.cluster.local:8080", method: "Unary", code: "DEADLINE_EXCEEDED", message: "Service stuck.test: service in fail-fast")
        try expectGRPCError(
            "stuck.test.svc.cluster.local:8080", method: "Unary", code: "UNAVAILABLE",
            message: "Service stuck.test: service unavailable: load shed while in fail-fast")
    }
}
