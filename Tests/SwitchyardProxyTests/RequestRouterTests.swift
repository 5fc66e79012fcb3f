import NIOHTTP1
import SwitchyardCore
import Testing

@testable import SwitchyardProxy

/// The router's decisions as plain calls: validation, service lookup, rule precedence,
/// filters and distributions, with the real plugins but no connection.
@Suite("RequestRouter")
struct RequestRouterTests {
    static let web = "web.test.svc.cluster.local"
    let proxy: InProcessProxy

    init() throws {
        func to(_ name: String, weight: Int = 1) -> String { "{ service: \(name).test.svc.cluster.local:80, weight: \(weight) }" }
        let names = ["a", "b", "c", "d", "e", "f", "g", "h"]
        proxy = try InProcessProxy(
            """
            services:
              - authority: \(Self.web):80
                timeouts: { request: 30s }
                routes:
                  - metadata: { group: policy.linkerd.io, kind: HTTPRoute, namespace: test, name: main }
                    rules:
                      - matches: [{ path: { prefix: /api } }]
                        backends: [\(to("a"))]
                      - matches: [{ path: { prefix: /api/v2 } }]
                        backends: [\(to("b"))]
                      - matches: [{ path: { exact: /api/v2/exact } }]
                        backends: [\(to("c"))]
                      - matches: [{ path: { prefix: /api }, headers: [{ name: X-Canary, exact: "1" }] }]
                        backends: [\(to("d"))]
                      - matches: [{ path: { prefix: /api }, queryParams: [{ name: q, exact: "1" }] }]
                        backends: [\(to("e"))]
                      - matches: [{ path: { prefix: /api }, method: DELETE }]
                        backends: [\(to("f"))]
                      - matches: [{ path: { regex: "/items/[0-9]+" } }]
                        backends: [\(to("g"))]
                      - matches: [{ path: { prefix: /hdr } }]
                        filters: [{ requestHeaderModifier: { set: { x-routed: "yes" }, add: { x-added: "1" }, remove: [x-drop] } }]
                        backends: [\(to("a"))]
                      - matches: [{ path: { prefix: /expect-set } }]
                        filters: [{ requestHeaderModifier: { set: { expect: 100-continue } } }]
                        backends: [\(to("a"))]
                      - matches: [{ path: { prefix: /expect-drop } }]
                        filters: [{ requestHeaderModifier: { remove: [expect] } }]
                        backends: [\(to("a"))]
                      - matches: [{ path: { prefix: /split } }]
                        backends: [\(to("a", weight: 90)), \(to("b", weight: 10))]
                      - matches: [{ path: { prefix: /first } }]
                        distribution: firstAvailable
                        backends: [\(to("c")), \(to("d"))]
                      - matches: [{ path: { prefix: /moved } }]
                        filters: [{ requestRedirect: { scheme: https, port: 8443, statusCode: 301 } }]
                        backends: [\(to("a"))]
                      - matches: [{ path: { prefix: /chaos } }]
                        filters: [{ failureInjector: { status: 503, message: chaos monkey, ratio: 1.0 } }]
                        backends: [\(to("a"))]
                      - matches: [{ path: { prefix: /down } }]
                        backends: [{ fail: { message: down for maintenance }, metadata: { group: core, kind: Service, namespace: test, name: web-v3, port: 80 } }]
                  - metadata: { group: policy.linkerd.io, kind: HTTPRoute, namespace: test, name: other }
                    rules:
                      - matches: [{ path: { prefix: /api/v2/other } }]
                        backends: [\(to("h"))]
              - authority: rpc.test.svc.cluster.local:80
                protocol: grpc
                timeouts: { request: 5s }
              - authority: plain.test.svc.cluster.local:80
            backends:
            \(names.map { "  - { authority: \($0).test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:9001 }] }" }.joined(separator: "\n"))
              - { authority: rpc.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:9002 }] }
              - { authority: plain.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:9003 }] }
            """)
    }

    func decide(_ path: String, method: HTTPMethod = .GET, host: String = web, headers: [(String, String)] = []) -> RouteDecision {
        var fields = HTTPHeaders([("host", host)])
        fields.add(contentsOf: headers)
        // Each test's fields can be sent (``FieldLinesTests`` checks the ones that cannot).
        guard let head = try? RequestHead(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: fields)) else {
            Issue.record("unsendable test fields \(headers)")
            return .answer(.notFound("unsendable"), isGRPC: false, closeConnection: true)
        }
        return proxy.slot.state.router.route(head)
    }

    /// The backend name a request is dispatched to, or what answered it.
    func backend(_ path: String, method: HTTPMethod = .GET, host: String = web, headers: [(String, String)] = []) -> String {
        switch decide(path, method: method, host: host, headers: headers) {
        case .dispatch(let dispatch): dispatch.target.ref.meta.name
        case .answer(let error, _, _): "answer \(error.status.code): \(error.message)"
        }
    }

    @Test("path, header, query and method matches pick their rule by precedence")
    func precedence() {
        #expect(backend("/api/x") == "a")
        #expect(backend("/api") == "a")
        #expect(backend("/api/v2/y") == "b")  // longer prefix wins over config order
        #expect(backend("/api/v2/exact") == "c")  // exact beats prefix
        #expect(backend("/api/x", headers: [("X-Canary", "1")]) == "d")  // same path, more headers
        #expect(backend("/api/x?q=1") == "e")  // same path, more query params
        #expect(backend("/api/x?q=1", headers: [("x-canary", "1")]) == "d")  // headers outrank query params
        #expect(backend("/api/x", method: .DELETE) == "f")  // a method match breaks the last tie
        #expect(backend("/items/42") == "g")
        #expect(backend("/api/v2/other/z") == "h")  // precedence holds across routes
        #expect(backend("/apix") == "answer 404: Service web.test: no route")  // prefixes match whole segments
        #expect(backend("/items/abc") == "answer 404: Service web.test: no route")
    }

    @Test("a service's default route takes every request whose target is a path, and only those")
    func defaultRoute() {
        let plain = "plain.test.svc.cluster.local"
        #expect(backend("/", host: plain) == "plain")
        #expect(backend("/any/path?with=query", method: .DELETE, host: plain) == "plain")
        #expect(backend("*", method: .OPTIONS, host: plain) == "answer 404: Service plain.test: no route")
    }

    @Test("a prefix ends on a segment boundary; an exact path is the whole path, without the query")
    func pathBounds() {
        #expect(backend("/api/v2/exact/") == "b")  // not the exact path: the longest prefix
        #expect(backend("/api/v2x") == "a")  // /api/v2 is no prefix of it, /api is
        #expect(backend("/api/v2/exact?q=2") == "c")
    }

    @Test("Expect: 100-continue is the client's, or a filter's that sets it; a filter that removes it wins")
    func expectContinue() {
        func expects(_ path: String, _ headers: [(String, String)] = []) -> Bool? {
            guard case .dispatch(let dispatch) = decide(path, headers: headers) else { return nil }
            #expect(!dispatch.head.fields.contains(name: "expect"), "the proxy answers it: it does not go upstream")
            return dispatch.expectsContinue
        }
        #expect(expects("/api/x") == false)
        #expect(expects("/api/x", [("Expect", "100-continue")]) == true)
        #expect(expects("/api/x", [("EXPECT", "100-Continue")]) == true)
        #expect(expects("/expect-set") == true)
        #expect(expects("/expect-drop", [("expect", "100-continue")]) == false)
    }

    @Test("the header modifier sets, adds and removes; the head goes on with the route's timeouts")
    func headerModifier() throws {
        guard case .dispatch(let dispatch) = decide("/hdr", headers: [("x-drop", "1"), ("x-routed", "no")]) else {
            Issue.record("not dispatched")
            return
        }
        #expect(dispatch.head.fields.values(name: "x-routed") == ["yes"] && dispatch.head.fields.values(name: "x-added") == ["1"])
        #expect(!dispatch.head.fields.contains(name: "x-drop"))
        #expect(dispatch.timeouts.request == .seconds(30) && !dispatch.isGRPC && !dispatch.expectsContinue)
    }

    @Test("redirects, injected failures and fail backends answer without a backend; a fail backend is counted")
    func answers() {
        guard case .answer(let redirect, _, let close) = decide("/moved/x?y=1") else {
            Issue.record("not answered")
            return
        }
        #expect(redirect.status == .movedPermanently && !close)
        #expect(redirect.headers.first?.1 == "https://\(Self.web):8443/moved/x?y=1")
        #expect(backend("/chaos") == "answer 503: chaos monkey")
        #expect(backend("/down") == "answer 502: Service web-v3.test: down for maintenance")
        let series = """
            outbound_http_route_backend_requests_total{\(MetricSeriesLabels.parentWeb),\
            route_group="policy.linkerd.io",route_kind="HTTPRoute",route_namespace="test",route_name="main",\
            backend_group="core",backend_kind="Service",backend_namespace="test",backend_name="web-v3",backend_port="80",backend_section_name=""}
            """
        #expect(proxy.metric(series) == 1, "\(String(decoding: proxy.exporter.exposition(), as: UTF8.self).split(separator: "\n").filter { $0.contains("web-v3") })")
    }

    @Test("a weighted split follows its weights; firstAvailable takes the first")
    func distributions() {
        var counts: [String: Int] = [:]
        for _ in 0..<2000 { counts[backend("/split"), default: 0] += 1 }
        #expect(counts.count == 2 && abs((counts["b"] ?? 0) - 200) <= 60, "\(counts)")
        #expect((0..<20).allSatisfy { _ in backend("/first") == "c" })
    }

    @Test("malformed heads are refused and close the connection; unknown authorities are 404")
    func refusals() {
        guard case .answer(let refusal, _, let close) = decide("/", headers: [("content-length", "1"), ("transfer-encoding", "chunked")]) else {
            Issue.record("not refused")
            return
        }
        #expect(refusal.status == .badRequest && close)
        guard case .answer(let unknown, let isGRPC, let keep) = decide("/", host: "nope.test", headers: [("content-type", "application/grpc")]) else {
            Issue.record("not answered")
            return
        }
        #expect(unknown.status == .notFound && unknown.message == "no service for authority nope.test" && isGRPC && !keep)
    }

    @Test("gRPC: a shorter grpc-timeout becomes the request bound, chosen by the client; Expect is taken out")
    func grpc() {
        guard
            case .dispatch(let dispatch) = decide(
                "/test.Echo/Unary", method: .POST, host: "rpc.test.svc.cluster.local",
                headers: [("content-type", "application/grpc"), ("grpc-timeout", "250m"), ("expect", "100-continue")])
        else {
            Issue.record("not dispatched")
            return
        }
        #expect(dispatch.isGRPC && dispatch.timeouts.request == .milliseconds(250) && dispatch.clientChoseDeadline)
        #expect(dispatch.expectsContinue && !dispatch.head.fields.contains(name: "expect"))
        guard case .dispatch(let longer) = decide("/test.Echo/Unary", method: .POST, host: "rpc.test.svc.cluster.local", headers: [("grpc-timeout", "1M")]) else {
            Issue.record("not dispatched")
            return
        }
        #expect(longer.timeouts.request == .seconds(5) && !longer.clientChoseDeadline)
    }
}

/// Labels of the `web` parent, as `/metrics` prints them.
enum MetricSeriesLabels {
    static let parentWeb =
        #"parent_group="core",parent_kind="Service",parent_namespace="test",parent_name="web",parent_port="80",parent_section_name="""#
}
