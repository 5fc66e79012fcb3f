import Foundation
import SwitchyardTestSupport
import Testing

/// 100 MiB up and down, over HTTP/1.1 (content-length and chunked) and HTTP/2: the proxy
/// streams with backpressure, so its memory must not grow with the body.
@Suite("Streaming large bodies", .serialized)
final class StreamingTests {
    let upstreams: BackgroundProcess
    let proxy: BackgroundProcess
    let port: Int
    let host = "bulk.test.svc.cluster.local"
    static let size = 100 * 1024 * 1024
    /// How much the proxy's peak RSS may grow across all transfers.
    static let growthBoundKiB = 48 * 1024

    init() throws {
        let (upstreams, ports) = try Peers.httpUpstreams(["bulk"])
        self.upstreams = upstreams
        (proxy, port) = try Peers.proxy(
            config: """
                listen: 127.0.0.1:0
                services:
                  - authority: bulk.test.svc.cluster.local:80
                backends:
                  - { authority: bulk.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:\(ports["bulk"]!) }] }
                """)
    }

    deinit {
        proxy.stop()
        upstreams.stop()
    }

    @Test("100 MiB downloads and uploads pass without the proxy's memory growing past 48 MiB")
    func largeBodies() throws {
        _ = try Curl.request(port: port, host: host, path: "/warm-up")
        let before = try #require(proxy.peakResidentKiB)
        let file = try FixturePlugin.writeFile(named: "upload.bin", contents: "")
        let handle = try #require(FileHandle(forWritingAtPath: file))
        let block = Data(repeating: 0x61, count: 1024 * 1024)
        for _ in 0..<(Self.size / block.count) { handle.write(block) }
        try handle.close()
        defer { try? FileManager.default.removeItem(atPath: file) }

        for http2 in [false, true] {
            let download = try Subprocess.run(
                "/usr/bin/env",
                ["curl", "-s", "-S", "--max-time", "120", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", "-H", "host: \(host)"]
                    + (http2 ? ["--http2-prior-knowledge"] : []) + ["http://127.0.0.1:\(port)/download?bytes=\(Self.size)"])
            #expect(download.standardOutput == "200 \(Self.size)", "\(download.standardError)")
        }
        for (extra, http2) in [([String](), false), (["-H", "transfer-encoding: chunked"], false), ([], true)] {
            let upload = try Subprocess.run(
                "/usr/bin/env",
                ["curl", "-s", "-S", "--max-time", "120", "-H", "host: \(host)", "--data-binary", "@\(file)"] + extra
                    + (http2 ? ["--http2-prior-knowledge"] : []) + ["http://127.0.0.1:\(port)/upload"])
            #expect(upload.standardOutput == "bulk received \(Self.size) bytes\n", "\(extra) h2=\(http2): \(upload.standardError)")
        }
        let after = try #require(proxy.peakResidentKiB)
        #expect(after - before < Self.growthBoundKiB, "peak RSS grew from \(before) KiB to \(after) KiB")
    }

    @Test("an HTTP/2 client that opens no window for a 100 MiB download: the proxy holds the upstream back, its memory does not grow past 16 MiB")
    func stalledHTTP2Download() throws {
        _ = try Curl.request(port: port, host: host, path: "/warm-up")
        let before = try #require(proxy.peakResidentKiB)
        let report = try Attacks.run("h2-stream", port: port, host: host, "stalled-download:/download?bytes=\(Self.size)")
        #expect(report["status"] as? Int == 200, "\(report)")
        #expect(report["data"] as? Int == 65_535, "the client's initial window, and no more: \(report)")
        let after = try #require(proxy.peakResidentKiB)
        #expect(after - before < 16 * 1024, "peak RSS grew from \(before) KiB to \(after) KiB")
        #expect(try Curl.request(port: port, host: host, path: "/after").status == 200)
    }
}
