import Foundation
import SwitchyardTestSupport
import Testing

/// An HTTP/2 upstream says it did not process a stream (RFC 9113 §8.7): it refused it with
/// REFUSED_STREAM, or its GOAWAY's last stream ID is below it. The request goes once more,
/// whatever its method, with its body. Over real sockets, with curl as the client.
@Suite("HTTP/2 streams the upstream did not process")
struct UnprocessedStreamTests {
    static let host = "refusing.test.svc.cluster.local"

    /// A proxy with one HTTP/2 endpoint, the refusing upstream in `mode`; `body` runs with the
    /// proxy's port and the upstream.
    func withProxy(_ mode: String, _ body: (Int, BackgroundProcess) throws -> Void) throws {
        try Peers.withProxy(inFrontOf: Attacks.refusingUpstream(mode), authority: Self.host, protocol: "http2", body)
    }

    /// An upstream that does not process the first attempt, and what the retry gets.
    struct Unprocessed: Sendable, CustomTestStringConvertible {
        let mode: String
        let http2Client: Bool
        let body: String
        let line: String
        var testDescription: String { "\(mode), HTTP/\(http2Client ? 2 : 1) client" }
    }

    @Test(
        "a POST the upstream did not process goes again, body and all: a refused stream on the same connection, one past the GOAWAY's last stream ID on a new one",
        arguments: [
            Unprocessed(mode: "refuse", http2Client: false, body: "connection 1 stream 3: payload", line: "refused 1 1"),
            Unprocessed(mode: "refuse", http2Client: true, body: "connection 1 stream 3: payload", line: "refused 1 1"),
            Unprocessed(mode: "goaway", http2Client: false, body: "connection 2 stream 1: payload", line: "goaway 1 1"),
        ])
    func unprocessedGoesAgain(_ unprocessed: Unprocessed) throws {
        try withProxy(unprocessed.mode) { port, upstream in
            let response = try Curl.request(
                port: port, host: Self.host, path: "/", method: "POST", http2: unprocessed.http2Client, extra: ["--data", "payload"])
            #expect(response.status == 200, "\(response)")
            #expect(response.body == unprocessed.body)
            _ = try upstream.waitForLine(containing: unprocessed.line, timeout: 10)
        }
    }

    @Test("the request goes again once: refused twice is a 502, and the next request is the connection's third stream")
    func onlyOnce() throws {
        try withProxy("refuse-two") { port, _ in
            let twice = try Curl.request(port: port, host: Self.host, path: "/", method: "POST", extra: ["--data", "payload"])
            #expect(twice.status == 502, "\(twice)")
            let next = try Curl.request(port: port, host: Self.host, path: "/", method: "POST", extra: ["--data", "next"])
            #expect(next.body == "connection 1 stream 5: next", "two attempts, then this one: \(next)")
        }
    }

    @Test("a body over 64 KiB is not kept, so its refused request does not go again: 502")
    func longBodyGoesOnce() throws {
        try withProxy("refuse") { port, _ in
            let long = String(repeating: "x", count: 64 * 1024 + 1)
            let tooLong = try Curl.request(port: port, host: Self.host, path: "/", method: "POST", extra: ["--data", long])
            #expect(tooLong.status == 502, "\(tooLong)")
            let next = try Curl.request(port: port, host: Self.host, path: "/", method: "POST", extra: ["--data", "next"])
            #expect(next.body == "connection 1 stream 3: next", "one attempt for the long body: \(next)")
        }
    }

    @Test(
        "a stream the upstream processed is not sent again: an interim 103 before REFUSED_STREAM, or a connection that closed with the request on the wire: 502",
        arguments: ["interim-refuse", "close"])
    func processedStreamGoesOnce(mode: String) throws {
        try withProxy(mode) { port, _ in
            let response = try Curl.request(port: port, host: Self.host, path: "/", method: "POST", extra: ["--data", "payload"])
            #expect(response.status == 502, "a second attempt would be answered: \(response)")
        }
    }
}
