import SwitchyardCore
import Testing

@Suite("Path matches")
struct PathMatchTests {
    @Test("exact and prefix matches compare bytes, not Unicode equivalence")
    func bytes() {
        let composed = "/caf\u{E9}"  // é as one scalar
        let decomposed = "/cafe\u{301}"  // e and a combining acute: equal as Swift Strings
        #expect(composed == decomposed)
        #expect(PathMatch.exact(composed).matches(composed[...]))
        #expect(!PathMatch.exact(composed).matches(decomposed[...]))
        #expect(!PathMatch.prefix(composed).matches("\(decomposed)/menu"[...]))
        #expect(PathMatch.prefix(composed).matches("\(composed)/menu"[...]))
    }

    @Test("a prefix matches whole segments, or anything under a prefix ending in a slash")
    func segments() {
        #expect(PathMatch.prefix("/api").matches("/api"[...]))
        #expect(PathMatch.prefix("/api").matches("/api/x"[...]))
        #expect(!PathMatch.prefix("/api").matches("/apix"[...]))
        #expect(PathMatch.prefix("/api/").matches("/api/x"[...]))
        #expect(!PathMatch.prefix("/api/").matches("/api"[...]))
        #expect(PathMatch.prefix("/").matches("/anything"[...]))
        #expect(!PathMatch.prefix("/").matches("*"[...]))
    }
}

@Suite("gRPC matches")
struct GRPCRouteMatchTests {
    struct Request: RoutableRequest {
        var method = "POST"
        var path: Substring
        var query: Substring = ""
        func header(_ name: String) -> String? { nil }
    }

    func matches(_ match: GRPCRouteMatch, _ path: String, method: String = "POST") -> Bool {
        match.matches(Request(method: method, path: path[...]))
    }

    @Test("an RPC is a POST to /service/method; service and method compare whole")
    func rpc() {
        let any = GRPCRouteMatch()
        #expect(matches(any, "/helloworld.Greeter/SayHello"))
        #expect(matches(any, "//"), "empty names are still the shape")
        #expect(!matches(any, "/helloworld.Greeter/SayHello", method: "GET"))
        #expect(!matches(any, "/helloworld.Greeter"))
        #expect(!matches(any, "helloworld.Greeter/SayHello"))
        let greeter = GRPCRouteMatch(service: "helloworld.Greeter")
        #expect(matches(greeter, "/helloworld.Greeter/SayHello"))
        #expect(!matches(greeter, "/helloworld.Greeter2/SayHello"))
        #expect(!matches(greeter, "/helloworld/Greeter/SayHello"))
        let sayHello = GRPCRouteMatch(service: "helloworld.Greeter", method: "SayHello")
        #expect(matches(sayHello, "/helloworld.Greeter/SayHello"))
        #expect(!matches(sayHello, "/helloworld.Greeter/SayHelloAgain"))
        #expect(!matches(sayHello, "/helloworld.Greeter/SayHello/x"), "the method is everything after the second slash")
    }
}
