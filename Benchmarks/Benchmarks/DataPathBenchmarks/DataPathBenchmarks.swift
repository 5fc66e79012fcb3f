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

/// One exchange on kept-alive connections: the client's bytes in (an HTTP/1.1 request, or
/// HTTP/2 frames), the upstream's HTTP/1.1 bytes out, its response in, the client's bytes out.
private func exchange(
    _ upstreams: [EmbeddedChannel], client: EmbeddedChannel, request: ByteBuffer, response: ByteBuffer, seen: inout [UInt8]?
) throws {
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
    // An HTTP/2 connection flushes once the loop's pass is over (FlushCoalescer).
    client.embeddedEventLoop.run()
    try drain(client, into: &seen)
}

/// Reads what the proxy wrote to the client, keeping it in `seen` when there is one.
private func drain(_ client: EmbeddedChannel, into seen: inout [UInt8]?) throws {
    while let buffer = try client.readOutbound(as: ByteBuffer.self) {
        if seen != nil { seen?.append(contentsOf: buffer.readableBytesView) }
    }
}

/// A benchmark of a path that does not answer would measure nothing: after the warm-up one
/// exchange is checked for the upstream's status and body.
struct PathBroken: Error, CustomStringConvertible {
    let seen: [UInt8]
    var description: String { "the client did not get the upstream's 200 and body: \(seen)" }
}

/// Whether `bytes` hold `needle`.
private func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
    bytes.count >= needle.count && (0...(bytes.count - needle.count)).contains { Array(bytes[$0..<$0 + needle.count]) == needle }
}

/// One HTTP/2 frame: its 9-byte header and payload.
private func frame(type: UInt8, flags: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
    let length = payload.count
    return [
        UInt8(truncatingIfNeeded: length >> 16), UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length), type, flags,
        UInt8(truncatingIfNeeded: stream >> 24) & 0x7f, UInt8(truncatingIfNeeded: stream >> 16), UInt8(truncatingIfNeeded: stream >> 8),
        UInt8(truncatingIfNeeded: stream),
    ] + payload
}

/// The same request as `request`, HPACK-encoded from the static table and literals without
/// indexing (so the same block serves every stream): `:method GET`, `:scheme http`, `:path`,
/// `:authority`, `user-agent`, `accept`.
private let headerBlock: [UInt8] = {
    var block: [UInt8] = [0x82, 0x86]
    func literal(_ name: [UInt8], _ value: String) { block += name + [UInt8(value.utf8.count)] + Array(value.utf8) }
    literal([0x04], "/index.html")
    literal([0x01], "web.bench.svc.cluster.local")
    literal([0x0f, 0x2b], "bench")  // user-agent, static index 58
    literal([0x0f, 0x04], "*/*")  // accept, static index 19
    return block
}()

/// One HTTP/2 request on a kept-alive client connection (stream `id`) to kept-alive HTTP/1.1
/// upstreams: HEADERS with END_STREAM and a connection WINDOW_UPDATE for the response in, the
/// upstream's bytes out, its response in, the client's frames out. `bytes` holds both frames;
/// its stream id is patched in place (nothing holds it by then, so nothing is copied).
private func exchange(
    _ upstreams: [EmbeddedChannel], client: EmbeddedChannel, stream id: UInt32, bytes: inout ByteBuffer, response: ByteBuffer, seen: inout [UInt8]?
) throws {
    bytes.setInteger(id & 0x7fff_ffff, at: bytes.readerIndex + 5)
    try exchange(upstreams, client: client, request: bytes, response: response, seen: &seen)
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
        var nothing: [UInt8]? = nil
        for _ in 0..<30 { try exchange(path.upstreamChannels, client: client, request: requestBytes, response: responseBytes, seen: &nothing) }
        var seen: [UInt8]? = []
        try exchange(path.upstreamChannels, client: client, request: requestBytes, response: responseBytes, seen: &seen)
        guard let seen, contains(seen, Array("HTTP/1.1 200 OK".utf8)), contains(seen, Array("hello world\n".utf8)) else { throw PathBroken(seen: seen ?? []) }
        let upstreams = path.upstreamChannels
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try exchange(upstreams, client: client, request: requestBytes, response: responseBytes, seen: &nothing)
        }
    }

    Benchmark("HTTP/2 request through the data path (one stream a request, HTTP/1.1 upstreams)") { benchmark in
        let path = try EmbeddedDataPath(yaml: config, pluginDirectory: pluginDirectory)
        let client = try path.connectClient()
        let responseBytes = ByteBuffer(string: response)
        // The preface and empty SETTINGS; then the ACK of the proxy's SETTINGS.
        try client.writeInbound(ByteBuffer(bytes: Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(type: 4, flags: 0, stream: 0, [])))
        client.read()
        while try client.readOutbound(as: ByteBuffer.self) != nil {}
        try client.writeInbound(ByteBuffer(bytes: frame(type: 4, flags: 1, stream: 0, [])))
        client.read()
        // HEADERS (END_STREAM | END_HEADERS) and a connection WINDOW_UPDATE as large as a response.
        var bytes = ByteBuffer(bytes: frame(type: 1, flags: 0x5, stream: 1, headerBlock) + frame(type: 8, flags: 0, stream: 0, [0, 0, 0x01, 0x00]))
        var stream: UInt32 = 1
        var nothing: [UInt8]? = nil
        for _ in 0..<30 {
            try exchange(path.upstreamChannels, client: client, stream: stream, bytes: &bytes, response: responseBytes, seen: &nothing)
            stream += 2
        }
        // `:status 200` is HPACK's static entry 8 (0x88); the body arrives in a DATA frame as is.
        var seen: [UInt8]? = []
        try exchange(path.upstreamChannels, client: client, stream: stream, bytes: &bytes, response: responseBytes, seen: &seen)
        guard let seen, seen.contains(0x88), contains(seen, Array("hello world\n".utf8)) else { throw PathBroken(seen: seen ?? []) }
        stream += 2
        let upstreams = path.upstreamChannels
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try exchange(upstreams, client: client, stream: stream, bytes: &bytes, response: responseBytes, seen: &nothing)
            stream += 2
        }
    }
}
