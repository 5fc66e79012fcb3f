import Foundation
import SwitchyardTestSupport
import Testing

/// Attacks over real sockets (`Tests/Fixtures/attacks.py`): request smuggling into the shared
/// upstream pool, HTTP/2 connection-level abuse from a client and from an upstream, connection
/// floods. (Malformed HTTP/1.x heads are refused in-process in `ListenerTests`.) Each asserts the answer, that nothing reached the upstream that should not, and
/// that the proxy still serves; floods also assert memory stayed bounded.
@Suite("Hostile input")
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

    // MARK: HTTP/2 connection errors

    @Test("each HTTP/2 connection error ends with GOAWAY and a closed socket, and the proxy serves on")
    func http2ConnectionErrors() throws {
        let kinds = [
            "continuation-flood", "hpack-bomb", "hpack-index-zero", "hpack-huffman-eos", "hpack-late-size-update", "window-update-overflow",
            "stream-id-reuse", "data-on-closed-stream", "settings-flood", "ping-flood", "malformed-flood",
        ]
        for kind in kinds {
            let report = try Attacks.run("h2", port: port, host: Self.host, kind)
            #expect(report["goaway"] as? Int != nil, "\(kind): \(report)")
            #expect(report["goaway"] as? Int != 0, "\(kind): \(report)")
            if kind.hasPrefix("hpack-") { #expect(report["goaway"] as? Int == 0x9, "\(kind): COMPRESSION_ERROR (RFC 9113 §4.3): \(report)") }
            #expect(report["closed"] as? Bool == true, "\(kind): \(report)")
            if let answered = report["answered"] as? Bool { #expect(answered, "\(kind): the request before the violation was answered: \(report)") }
            try expectServing()
        }
        #expect((proxy.peakResidentKiB ?? 0) < 300 * 1024, "peak RSS \(proxy.peakResidentKiB ?? 0) KiB")
    }

    @Test(
        "HTTP/2 streams: a malformed block is reset with PROTOCOL_ERROR; an answer while the request is still open ends the stream, then resets it with NO_ERROR; a HEAD's answer has no body; CONNECT gets 501; :authority and a different host get 400; the connection serves on"
    )
    func http2StreamCases() throws {
        let early = try Attacks.run("h2-stream", port: port, host: Self.host, "early-answer")
        #expect(early["status"] as? Int == 404, "\(early)")
        #expect(early["ended"] as? Bool == true, "\(early)")
        #expect(early["reset"] as? Int == 0, "RST_STREAM NO_ERROR after the answer: \(early)")
        #expect(early["next"] as? Int == 200, "\(early)")
        for kind in ["uppercase-name", "connection-field", "pseudo-after-field"] {
            let report = try Attacks.run("h2-stream", port: port, host: Self.host, kind)
            #expect(report["status"] as? Int == 0 && report["reset"] as? Int == 1, "\(kind): PROTOCOL_ERROR, no answer: \(report)")
            #expect(report["next"] as? Int == 200, "\(kind): \(report)")
        }
        for (kind, status) in [("head-answer", 404), ("connect", 501), ("host-mismatch", 400)] {
            let report = try Attacks.run("h2-stream", port: port, host: Self.host, kind)
            #expect(report["status"] as? Int == status, "\(kind): \(report)")
            #expect(report["ended"] as? Bool == true, "\(kind): \(report)")
            #expect(kind != "head-answer" || report["data"] as? Int == 0 && report["reset"] is NSNull, "\(kind): \(report)")
            #expect(report["next"] as? Int == 200, "\(kind): \(report)")
        }
        try expectServing()
    }

    @Test("an HTTP/2 upstream flooding CONTINUATION frames: 502, its connection closed, memory bounded")
    func hostileUpstream() throws {
        let response = try Curl.request(port: port, host: "hostile.test.svc.cluster.local", http2: true)
        #expect(response.status == 502)
        _ = try hostile.waitForLine(containing: "peer closed", timeout: 30)
        try expectServing()
        #expect((proxy.peakResidentKiB ?? 0) < 300 * 1024, "peak RSS \(proxy.peakResidentKiB ?? 0) KiB")
    }
}
