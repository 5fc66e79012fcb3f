#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SwitchyardTestSupport

@_spi(Benchmarks) @testable import SwitchyardProxy

/// The whole data path in-process on one `EmbeddedEventLoop` with virtual time
/// (``EmbeddedDataPath``), with upstream connections the test answers by hand in HTTP parts.
/// Breakers read the loop's clock, so `advance(by:)` moves penalties, fail-fast timers and
/// route timeouts alike.
final class InProcessProxy {
    let path: EmbeddedDataPath
    var loop: EmbeddedEventLoop { path.loop }
    var exporter: MetricsExporter { path.exporter }
    var slot: LoopSlot { path.slot }
    var upstreams: Upstreams { Upstreams(path.upstreams) }

    /// The upstream channels endpoints opened, in order; ports in `refusing` refuse to connect.
    struct Upstreams {
        let base: EmbeddedDataPath.Upstreams
        init(_ base: EmbeddedDataPath.Upstreams) { self.base = base }

        var opened: [(port: Int, channel: EmbeddedChannel)] { base.opened }
        var refusing: Set<Int> {
            get { base.refusing }
            nonmutating set { base.refusing = newValue }
        }
        var connectTime: TimeAmount? {
            get { base.connectTime }
            nonmutating set { base.connectTime = newValue }
        }

        /// The channel opened last to `port`.
        func last(port: Int) throws -> EmbeddedChannel {
            guard let channel = base.last(port: port) else { throw InProcessError("no connection to port \(port)") }
            return channel
        }
    }

    init(_ yaml: String) throws {
        path = try EmbeddedDataPath(yaml: yaml, pluginDirectory: BuildProducts.directory, upstreamCodec: false)
    }

    /// The service most tests use: `web.test.svc.cluster.local:80` to one endpoint,
    /// 127.0.0.1:9001, with `top` prepended to the config (top-level keys such as `timeouts:`).
    static func web(top: String = "") throws -> InProcessProxy {
        try InProcessProxy(
            top + """
                services: [{ authority: web.test.svc.cluster.local:80 }]
                backends: [{ authority: web.test.svc.cluster.local:80, endpoints: [{ address: 127.0.0.1:9001 }] }]
                """)
    }

    /// A client connection, accepted and set up as the listener does.
    func connect() throws -> Client {
        Client(channel: try path.connectClient())
    }

    /// Moves virtual time on, running what falls due.
    func advance(by amount: TimeAmount) {
        loop.advanceTime(by: amount)
    }

    /// The value of `series` on `/metrics`, if it is there.
    func metric(_ series: String) -> Double? {
        Peers.metric(String(decoding: exporter.exposition(), as: UTF8.self), series)
    }

    /// One client connection: writes raw bytes, reads what the proxy wrote back.
    struct Client {
        let channel: EmbeddedChannel

        /// Delivers `text` as one read, then asks for the next read as a socket channel with
        /// `autoRead` does (the handlers may hold it: backpressure).
        func send(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
            channel.read()
        }

        /// Everything the proxy has written to this client so far.
        func received() throws -> String {
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }

        var isOpen: Bool { channel.isActive }
    }
}

/// An upstream channel's side of the exchange, in HTTP parts.
extension EmbeddedChannel {
    /// The request parts the proxy wrote to this upstream so far.
    func requestParts() throws -> [RequestPart] {
        var parts: [RequestPart] = []
        while let part = try readOutbound(as: RequestPart.self) { parts.append(part) }
        return parts
    }

    /// Answers with `status`, `body` and a content-length.
    func respond(_ status: HTTPResponseStatus, body: String = "", headers: [(String, String)] = []) throws {
        var fields = HTTPHeaders(headers)
        fields.add(name: "content-length", value: String(body.utf8.count))
        try writeInbound(UpstreamResponsePart.head(ResponseHead(HTTPResponseHead(version: .http1_1, status: status, headers: fields))))
        if !body.isEmpty { try writeInbound(UpstreamResponsePart.body(ByteBuffer(string: body))) }
        try writeInbound(UpstreamResponsePart.end(nil))
    }
}

extension [RequestPart] {
    /// The head among the parts.
    var head: RequestHead? {
        for part in self { if case .head(let head) = part { return head } }
        return nil
    }
}

struct InProcessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
