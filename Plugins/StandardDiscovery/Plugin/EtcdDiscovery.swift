import StandardDiscovering
import SwitchyardCore
import SwitchyardPluginKit

/// `etcd`: endpoints registered under a key prefix in etcd (v3, through its JSON gateway over
/// HTTP/1.1), as APISIX and gRPC's etcd naming do it. Each key's value is one endpoint, in
/// etcd's naming format `{"Addr": "10.0.0.1:80", "Metadata": {"weight": 2, "labels": {...}}}`
/// or as `{"address", "weight", "labels"}`. It reads the prefix (a whole set, whose generation
/// is the etcd revision), then watches it from the next revision, publishing additions and
/// removals as they happen. Every `rewatch` it reads the prefix again (which also catches a
/// restored etcd whose revision went back); a compaction past its revision reads it again at
/// once; a lost connection is an error (the last set serves) and is retried after a backoff.
final class EtcdDiscovery: Discovery {
    static let name = "etcd"
    static let summary = "endpoints stored as values under a key prefix in etcd v3 (its JSON gateway), read then watched"

    private let client: EtcdClient
    private let prefix: String
    private let rewatch: Duration
    private let labels: [(key: String, value: String)]
    private let seed: UInt64
    private let thread = SourceThread()

    init(config: PluginConfig, target: DiscoveryTarget) throws(PluginConfigError) {
        let endpoints = try config.strings("endpoints")
        guard !endpoints.isEmpty else {
            throw PluginConfigError(key: "endpoints", message: "required: etcd's client URLs, such as [\"http://127.0.0.1:2379\"]")
        }
        prefix = try config.string("prefix", default: "")
        guard !prefix.isEmpty else { throw PluginConfigError(key: "prefix", message: "required: the key prefix the endpoints are stored under") }
        let timeout = try config.duration("timeout", default: .seconds(5), atLeast: .milliseconds(10))
        rewatch = try config.duration("rewatch", default: .seconds(50), atLeast: .milliseconds(100))
        labels = try config.labels("labels")
        seed = target.seed
        do {
            client = try EtcdClient(endpoints: endpoints, requestTimeout: timeout)
        } catch {
            throw PluginConfigError(key: "endpoints", message: error.description)
        }
    }

    func start(_ sink: DiscoverySink) {
        let watch = Watch(discovery: self, sink: sink)
        thread.start { stop in watch.run(stop) }
    }

    func stop() { thread.stopAndJoin() }

    /// One instance's loop: read the prefix, watch it, read again.
    private struct Watch: Sendable {
        let discovery: EtcdDiscovery
        let sink: DiscoverySink

        func run(_ stop: StopSignal) {
            var backoff = Backoff(seed: discovery.seed)
            var keys = KeyedEndpoints()
            var published: [String: DiscoveryEndpoint]?
            while !stop.isStopped {
                do throws(EtcdError) {
                    let (revision, kvs) = try discovery.client.range(prefix: discovery.prefix, stop: stop)
                    keys = KeyedEndpoints()
                    for kv in kvs { keys.put(kv) }
                    let set = keys.endpoints
                    if published == set {
                        sink.publish(DiscoveryUpdate(kind: .current, generation: UInt64(max(revision, 0))))
                    } else if sink.publish(.reset(set.values.sorted { $0.address < $1.address }, generation: UInt64(max(revision, 0)), labels: discovery.labels)) {
                        published = set
                    }
                    backoff.reset()
                    var next = revision + 1
                    let end = try discovery.client.watch(prefix: discovery.prefix, fromRevision: next, maxDuration: discovery.rewatch, stop: stop) {
                        events, revision in
                        for event in events {
                            switch event {
                            case .put(let kv): keys.put(kv)
                            case .delete(let key, _): keys.delete(key)
                            }
                        }
                        next = revision + 1
                        let set = keys.endpoints
                        let generation = UInt64(max(revision, 0))
                        guard let old = published else {
                            // The host's set is unknown (an update was refused): send it whole.
                            let sorted = set.values.sorted { $0.address < $1.address }
                            published = sink.publish(.reset(sorted, generation: generation, labels: discovery.labels)) ? set : nil
                            return
                        }
                        let added = set.values.filter { old[$0.address] != $0 }.sorted { $0.address < $1.address }
                        let removed = old.keys.filter { set[$0] == nil }.sorted().map { DiscoveryEndpoint(address: $0) }
                        // Removals first: a swap near the host's endpoint limit stays under it.
                        var taken = true
                        if !removed.isEmpty { taken = sink.publish(DiscoveryUpdate(kind: .remove, generation: generation, endpoints: removed)) }
                        if !added.isEmpty {
                            taken = sink.publish(DiscoveryUpdate(kind: .add, generation: generation, endpoints: added, labels: discovery.labels)) && taken
                        }
                        published = taken ? set : nil
                    }
                    if case .canceled(let why) = end {
                        sink.publish(.error("etcd canceled the watch of \(discovery.prefix): \(why)"))
                        published = nil
                        guard SourceThread.sleep(backoff.delay(), stop: stop) else { return }
                    }
                    // .expired and .compacted: read the prefix again.
                } catch {
                    guard !stop.isStopped else { return }
                    sink.publish(.error("etcd \(discovery.prefix): \(error.description)"))
                    // After a reconnect the first update is the whole set, whatever it is.
                    published = nil
                    guard SourceThread.sleep(backoff.delay(), stop: stop) else { return }
                }
            }
        }
    }
}

/// The endpoints under a prefix, by key: the last key to name an address wins, and a value
/// that is not an endpoint is left out (logged once per key and value).
struct KeyedEndpoints {
    private var byKey: [[UInt8]: (revision: Int64, endpoint: DiscoveryEndpoint)] = [:]

    mutating func put(_ kv: EtcdKeyValue) {
        switch EtcdEndpointValue.parse(kv.value) {
        case .success(let value):
            // The form the host compares addresses in; one it would refuse would cost the event.
            guard let address = Authority(ipLiteral: value.address)?.description else {
                byKey[kv.key] = nil
                HostServices.log(
                    .warning, "etcd key \(String(decoding: kv.key, as: UTF8.self)) names \(value.address), not an IP address and port; left out")
                return
            }
            let labels = value.labels.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) }
            byKey[kv.key] = (kv.modRevision, DiscoveryEndpoint(address: address, weight: value.weight, labels: labels))
        case .failure(let why):
            byKey[kv.key] = nil
            HostServices.log(.warning, "etcd key \(String(decoding: kv.key, as: UTF8.self)) is not an endpoint, left out: \(why.description)")
        }
    }

    mutating func delete(_ key: [UInt8]) { byKey[key] = nil }

    /// By address: where two keys name one address, the later-written one.
    var endpoints: [String: DiscoveryEndpoint] {
        var result: [String: (revision: Int64, endpoint: DiscoveryEndpoint)] = [:]
        for entry in byKey.values where (result[entry.endpoint.address]?.revision ?? .min) < entry.revision {
            result[entry.endpoint.address] = entry
        }
        return result.mapValues(\.endpoint)
    }
}
