import Benchmark
import Foundation
import NIOCore
import NIOEmbedded
@_spi(Benchmarks) import SwitchyardProxy

/// Where the plugins are: `SWITCHYARD_PLUGIN_DIR`, else the root package's release build.
private let pluginDirectory: String = {
    if let dir = ProcessInfo.processInfo.environment["SWITCHYARD_PLUGIN_DIR"], !dir.isEmpty { return dir }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    return root.appendingPathComponent(".build/release").path
}()

/// One backend of three endpoints with the default balancer (p2c-peak-ewma), metrics on: the
/// loopback benchmark's shape.
private let config = """
    services: [{ authority: web.bench.svc.cluster.local:80 }]
    backends:
      - authority: web.bench.svc.cluster.local:80
        endpoints: [{ address: 127.0.0.1:9001 }, { address: 127.0.0.1:9002 }, { address: 127.0.0.1:9003 }]
    """

private let request = "GET /index.html HTTP/1.1\r\nHost: web.bench.svc.cluster.local\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n"
private let response = "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 12\r\n\r\nhello world\n"

/// One HTTP/1.1 exchange on kept-alive connections: the client's request in, the upstream's
/// bytes out, its response in, the client's bytes out.
private func exchange(_ upstreams: [EmbeddedChannel], client: EmbeddedChannel, request: ByteBuffer, response: ByteBuffer) throws {
    try client.writeInbound(request)
    client.read()
    // p2c may pick any endpoint: answer whichever connection got the request.
    for upstream in upstreams {
        var sent = false
        while let buffer = try upstream.readOutbound(as: ByteBuffer.self) {
            blackHole(buffer)
            sent = true
        }
        if sent { try upstream.writeInbound(response) }
    }
    while let buffer = try client.readOutbound(as: ByteBuffer.self) { blackHole(buffer) }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3)
    )

    Benchmark("HTTP/1.1 request through the data path (keep-alive both sides)") { benchmark in
        let path = try EmbeddedDataPath(yaml: config, pluginDirectory: pluginDirectory)
        let client = try path.connectClient()
        let requestBytes = ByteBuffer(string: request)
        let responseBytes = ByteBuffer(string: response)
        // Warm up: every endpoint's upstream connection opened and pooled. (Sequential requests
        // never need a second connection to an endpoint.)
        for _ in 0..<30 { try exchange(path.upstreamChannels, client: client, request: requestBytes, response: responseBytes) }
        let upstreams = path.upstreamChannels
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try exchange(upstreams, client: client, request: requestBytes, response: responseBytes)
        }
    }
}
