import Foundation
import SwitchyardTestSupport
import Testing

/// An upstream closes a pooled keep-alive connection just as a request goes out on it (its own
/// keep-alive timeout ran out): the request was never processed. Over real sockets, with an
/// upstream whose every connection answers one request and closes under the next.
@Suite("Stale pooled connections")
struct StaleConnectionTests {
    static let host = "stale.test.svc.cluster.local"

    /// A proxy with one endpoint, the stale upstream in `mode`; `body` runs with the proxy's
    /// port and the upstream.
    func withProxy(_ mode: String, _ body: (Int, BackgroundProcess) throws -> Void) throws {
        try Peers.withProxy(inFrontOf: Attacks.staleUpstream(mode), authority: Self.host, body)
    }

    @Test(
        "a bodiless idempotent request whose pooled connection closes (FIN or RST) before any answer goes again on a new connection, once",
        arguments: ["fin", "reset"])
    func idempotentRequestGoesAgain(mode: String) throws {
        try withProxy(mode) { port, upstream in
            #expect(try Curl.request(port: port, host: Self.host, path: "/first").body == "connection 1")
            // The pooled connection 1 closes under /second: the client never hears of it.
            let second = try Curl.request(port: port, host: Self.host, path: "/second")
            #expect(second.status == 200, "\(second)")
            #expect(second.body == "connection 2")
            _ = try upstream.waitForLine(containing: "request 1 /second", timeout: 10)
            _ = try upstream.waitForLine(containing: "request 2 /second", timeout: 10)
        }
    }

    @Test("a chunked request without body bytes goes again with its trailers")
    func chunkedGoesAgainWithTrailers() throws {
        try withProxy("fin") { port, upstream in
            #expect(try Curl.request(port: port, host: Self.host, path: "/first").status == 200)
            let raw = "GET /chunked HTTP/1.1\r\nHost: \(Self.host)\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\nx-sum: 1\r\n\r\n"
            let seen = try Attacks.stall(port: port, raw, seconds: 10)
            #expect(seen.status == 200, "\(seen)")
            _ = try upstream.waitForLine(containing: "trailers 2 x-sum: 1", timeout: 10)
        }
    }

    @Test("a connection that started answering (an interim 103) and then closed is no stale one: 502, one attempt")
    func interimAnswerIsNotStale() throws {
        try withProxy("interim") { port, _ in
            #expect(try Curl.request(port: port, host: Self.host, path: "/first").status == 200)
            // A second attempt, on a new connection, would be answered.
            let second = try Curl.request(port: port, host: Self.host, path: "/second")
            #expect(second.status == 502, "\(second)")
        }
    }

    @Test("a method that is not idempotent is not sent twice: 502")
    func postFails() throws {
        try withProxy("fin") { port, _ in
            #expect(try Curl.request(port: port, host: Self.host, path: "/first").status == 200)
            // Bodiless, so only its method keeps it from going again (a second attempt gets 200).
            let post = try Curl.request(port: port, host: Self.host, path: "/post", method: "POST")
            #expect(post.status == 502, "a POST is never replayed: \(post)")
        }
    }

    @Test("an idempotent request with a body goes again with its body (kept up to 64 KiB); a longer one does not: 502")
    func bodyGoesAgain() throws {
        try withProxy("fin") { port, upstream in
            #expect(try Curl.request(port: port, host: Self.host, path: "/first").status == 200)
            let put = try Curl.request(port: port, host: Self.host, path: "/put", method: "PUT", extra: ["--data", "payload"])
            #expect(put.status == 200, "\(put)")
            #expect(put.body == "connection 2")
            _ = try upstream.waitForLine(containing: "body 2 payload", timeout: 10)
            // Connection 2 is pooled now, and closes under the next request.
            let long = String(repeating: "x", count: 64 * 1024 + 1)
            // A second attempt, on a new connection, would be answered.
            let tooLong = try Curl.request(port: port, host: Self.host, path: "/long", method: "PUT", extra: ["--data", long])
            #expect(tooLong.status == 502, "\(tooLong)")
        }
    }

    @Test("the retry goes once: when the new connection closes too, 502; a new connection that closes is the endpoint's failure")
    func onlyOnce() throws {
        try withProxy("once") { port, upstream in
            #expect(try Curl.request(port: port, host: Self.host, path: "/first").body == "connection 1")
            let second = try Curl.request(port: port, host: Self.host, path: "/second")
            #expect(second.status == 502, "\(second)")
            _ = try upstream.waitForLine(containing: "request 2 /second", timeout: 10)
            // No third attempt, and a fresh connection that closes is not retried.
            let third = try Curl.request(port: port, host: Self.host, path: "/third")
            #expect(third.status == 502, "\(third)")
            // Every attempt printed before its 502 came back; the marker's line comes after them.
            _ = try Curl.request(port: port, host: Self.host, path: "/marker")
            _ = try upstream.waitForLine(containing: " /marker", timeout: 10)
            #expect(!upstream.text.contains("request 3 /second"), "\(upstream.text)")
            #expect(upstream.text.components(separatedBy: "/third").count == 2, "one attempt for /third: \(upstream.text)")
        }
    }
}
