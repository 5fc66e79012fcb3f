import StandardDiscovering
import SwitchyardPluginKit

/// `dns`: endpoints from DNS, as nginx's and HAProxy's resolvers find them. A name starting
/// with `_` is an SRV name (`_http._tcp.web.prod.svc.cluster.local`): its lowest-priority
/// records, with their ports and weights; any other name is looked up as A and AAAA, at the
/// backend's port. Asked again when the answer's TTL runs out (clamped to `minTtl`...`maxTtl`);
/// a failure is retried after a backoff (1 s doubling to 30 s, with jitter) while the last set
/// serves; a name that stops existing (NXDOMAIN) keeps its last set for `holdNotFound`, so a
/// zone being rewritten does not empty the backend.
final class DNSDiscovery: Discovery {
    static let name = "dns"
    static let summary = "A/AAAA records at the backend's port, or SRV records (names starting with _), re-resolved at their TTL"

    private let query: String
    private let port: UInt16
    private let client: DNSClient
    private let minTtl: Duration
    private let maxTtl: Duration
    private let holdNotFound: Duration
    private let labels: [(key: String, value: String)]
    private let seed: UInt64
    private let thread = SourceThread()

    init(config: PluginConfig, target: DiscoveryTarget) throws(PluginConfigError) {
        query = try config.string("name", default: target.host)
        port = target.port
        let servers = try config.strings("servers").map { text throws(PluginConfigError) in
            guard let server = DNSServer(parsing: text) else {
                throw PluginConfigError(key: "servers", message: "'\(text)' is not an IP address with an optional port, such as 10.0.0.10 or [fd00::a]:5353")
            }
            return server
        }
        let timeout = try config.duration("timeout", default: .seconds(1), atLeast: .milliseconds(10))
        let attempts = try config.int("attempts", default: 3, range: 1...10)
        client = DNSClient(servers: servers.isEmpty ? ResolvConf.servers() : servers, timeout: timeout, attempts: attempts)
        minTtl = try config.duration("minTtl", default: .seconds(5), atLeast: .milliseconds(100))
        maxTtl = try config.duration("maxTtl", default: .seconds(60), atLeast: minTtl)
        holdNotFound = try config.duration("holdNotFound", default: .seconds(30))
        labels = try config.labels("labels")
        seed = target.seed
    }

    func start(_ sink: DiscoverySink) {
        let watch = Watch(discovery: self, sink: sink)
        thread.start { stop in watch.run(stop) }
    }

    func stop() { thread.stopAndJoin() }

    /// One instance's loop: resolve, publish, wait.
    private struct Watch: Sendable {
        let discovery: DNSDiscovery
        let sink: DiscoverySink

        func run(_ stop: StopSignal) {
            var backoff = Backoff(seed: discovery.seed)
            var published: [DNSTarget]?
            var generation: UInt64 = 0
            var missingSince: ContinuousClock.Instant?
            var resend = false
            while true {
                let result = discovery.client.resolve(discovery.query, port: discovery.port, stop: stop)
                guard !stop.isStopped else { return }
                let wait: Duration
                switch result {
                case .found(let targets, let ttl):
                    backoff.reset()
                    missingSince = nil
                    if targets == published, !resend {
                        sink.publish(DiscoveryUpdate(kind: .current, generation: generation))
                    } else {
                        if targets != published { generation += 1 }
                        let endpoints = targets.map { DiscoveryEndpoint(address: $0.address, weight: $0.weight) }
                        if sink.publish(.reset(endpoints, generation: generation, labels: discovery.labels)) {
                            published = targets
                            resend = false
                        }
                    }
                    wait = min(max(.seconds(Int64(ttl)), discovery.minTtl), discovery.maxTtl)
                case .notFound:
                    backoff.reset()
                    let since = missingSince ?? .now
                    missingSince = since
                    if published?.isEmpty ?? true || ContinuousClock.now - since >= discovery.holdNotFound {
                        if published != [] { generation += 1 }
                        sink.publish(DiscoveryUpdate(kind: .notFound, generation: generation, message: "\(discovery.query): no such name"))
                        published = []
                    } else {
                        sink.publish(
                            .error("\(discovery.query): no such name; keeping the last set for holdNotFound \(DurationText.format(discovery.holdNotFound))"))
                    }
                    wait = discovery.minTtl
                case .failure(let why):
                    sink.publish(.error(why))
                    // After a failure the first answer is the whole set, even an unchanged one
                    // (the host may have aged the set out meanwhile).
                    resend = true
                    wait = backoff.delay()
                }
                guard SourceThread.sleep(wait, stop: stop) else { return }
            }
        }
    }
}

extension DNSServer {
    /// `10.0.0.10`, `10.0.0.10:5353`, `fd00::a` or `[fd00::a]:5353` (port 53 when absent).
    init?(parsing text: String) {
        var host = Substring(text)
        var port: UInt16 = 53
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":", let p = UInt16(rest.dropFirst()), p > 0 else { return nil }
                port = p
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            guard let p = UInt16(text[text.index(after: colon)...]), p > 0 else { return nil }
            port = p
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) else { return nil }
        self.init(host: String(host), port: port)
    }
}
