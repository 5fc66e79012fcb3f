import SwitchyardCore
import Synchronization

/// A client of the etcd v3 JSON gateway (`/v3/kv/range`, `/v3/watch`, served by etcd 3.4
/// and later on the client URL) over plain HTTP/1.1, each call on its own connection and
/// blocking its thread; every wait ends by a deadline or the caller's ``StopSignal``.
///
/// Calls try the endpoints in order, starting from the last one that answered, until one
/// does. Copies share that memory.
public struct EtcdClient: Sendable {
    /// The most keys ``range(prefix:stop:)`` returns; more is an error.
    public static let maxRangeKeys = 10_000
    /// The longest range response taken.
    static let maxRangeResponseBytes = 16 * 1024 * 1024
    /// The longest single watch response taken.
    static let maxWatchMessageBytes = 4 * 1024 * 1024
    /// The longest error response body read for its message.
    static let maxErrorBodyBytes = 64 * 1024
    /// The longest request timeout taken.
    public static let maxRequestTimeout = Duration.seconds(3600)
    /// The longest a watch runs.
    public static let maxWatchDuration = Duration.seconds(86_400)

    private let endpoints: [EtcdEndpointAddress]
    private let requestTimeout: Duration
    private let lastAnswered: LastAnswered

    /// Which endpoint answered last, shared by copies of a client.
    private final class LastAnswered: Sendable {
        let index = Atomic<Int>(0)
    }

    /// A client of the etcd members at `endpoints`.
    /// - Parameters:
    ///   - endpoints: client URLs, `http://HOST:PORT` or `HOST:PORT` (IPv6 as `[ADDR]:PORT`).
    ///   - requestTimeout: how long one endpoint gets for a range, or to start a watch; above
    ///     zero, at most ``maxRequestTimeout``.
    /// - Throws: ``EtcdError`` when there is no endpoint, one is malformed or `https`, or the
    ///   timeout is out of range.
    public init(endpoints: [String], requestTimeout: Duration) throws(EtcdError) {
        guard !endpoints.isEmpty else { throw EtcdError("no etcd endpoints") }
        guard requestTimeout > .zero, requestTimeout <= Self.maxRequestTimeout else {
            throw EtcdError("etcd request timeout must be above 0 and at most \(Self.maxRequestTimeout)")
        }
        var parsed: [EtcdEndpointAddress] = []
        for endpoint in endpoints {
            parsed.append(try EtcdEndpointAddress(parsing: endpoint))
        }
        self.endpoints = parsed
        self.requestTimeout = requestTimeout
        lastAnswered = LastAnswered()
    }

    /// Every key starting with `prefix` (all keys when empty), and the store's revision they
    /// are as of: watch from that revision + 1 to follow on.
    /// - Throws: ``EtcdError`` when no endpoint answers with a range (each one's failure
    ///   named), there are more than ``maxRangeKeys`` keys, or `stop` fires.
    public func range(prefix: String, stop: StopSignal) throws(EtcdError) -> (revision: Int64, kvs: [EtcdKeyValue]) {
        let body = EtcdWire.rangeRequest(EtcdKeyRange(prefix: Array(prefix.utf8)), limit: Self.maxRangeKeys)
        return try firstAnswer(stop: stop) { endpoint throws(EtcdError) in
            let deadline = ContinuousClock.now + requestTimeout
            let exchange = try HTTPExchange(endpoint: endpoint, path: "/v3/kv/range", body: body, keepOpen: false, deadline: deadline, stop: stop)
            try Self.requireOK(exchange, deadline: deadline, stop: stop)
            let response = try EtcdWire.parse(
                try exchange.readBody(limit: Self.maxRangeResponseBytes, deadline: deadline, stop: stop), what: "range response")
            if let error = EtcdWire.gatewayError(in: response) { throw EtcdError("etcd error: \(error)") }
            let kvs = try EtcdWire.array("kvs", of: response, in: "range response")
            guard kvs.count <= Self.maxRangeKeys, !(try EtcdWire.bool("more", of: response, in: "range response")) else {
                throw EtcdError("more than \(Self.maxRangeKeys) keys under the prefix")
            }
            var keyValues: [EtcdKeyValue] = []
            keyValues.reserveCapacity(kvs.count)
            for (index, kv) in kvs.enumerated() {
                keyValues.append(try EtcdWire.keyValue(kv, in: "range response kvs[\(index)]"))
            }
            return (try EtcdWire.headerRevision(of: response, in: "range response"), keyValues)
        }
    }

    /// Watches every key starting with `prefix` from `fromRevision` on (0: from now), handing
    /// each batch of changes to `onEvents` as it arrives, until the watch ends.
    ///
    /// `onEvents` gets the events of one watch response, in revision order, and the revision
    /// the watch has now delivered every change through: the last event's. Watch again from
    /// that revision + 1 to follow on. (A response's `header.revision` can be ahead of its
    /// events when etcd splits a long catch-up into several responses, so it is not used.)
    ///
    /// - Parameter maxDuration: how long the watch runs at most (up to ``maxWatchDuration``);
    ///   then it returns ``EtcdWatchEnd/expired``.
    /// - Returns: why the watch ended: ``EtcdWatchEnd/compacted(compactRevision:)`` when
    ///   `fromRevision` is no longer kept, ``EtcdWatchEnd/expired``, or
    ///   ``EtcdWatchEnd/canceled(_:)`` when etcd canceled it otherwise.
    /// - Throws: ``EtcdError`` when no endpoint starts the watch within the request timeout,
    ///   the connection fails or closes, etcd sends an error or something malformed, or
    ///   `stop` fires.
    public func watch(
        prefix: String, fromRevision: Int64, maxDuration: Duration, stop: StopSignal,
        onEvents: ([EtcdWatchEvent], _ revision: Int64) -> Void
    ) throws(EtcdError) -> EtcdWatchEnd {
        let end = ContinuousClock.now + min(max(maxDuration, .zero), Self.maxWatchDuration)
        let body = EtcdWire.watchRequest(EtcdKeyRange(prefix: Array(prefix.utf8)), startRevision: fromRevision)
        let (endpoint, exchange) = try firstAnswer(stop: stop) { endpoint throws(EtcdError) in
            let deadline = ContinuousClock.now + requestTimeout
            let exchange = try HTTPExchange(endpoint: endpoint, path: "/v3/watch", body: body, keepOpen: true, deadline: deadline, stop: stop)
            try Self.requireOK(exchange, deadline: deadline, stop: stop)
            return (endpoint, exchange)
        }
        /// Hands on a message's events; returns how the watch ended if it did.
        func take(_ line: ArraySlice<UInt8>) throws(EtcdError) -> EtcdWatchEnd? {
            let response = try EtcdWatchResponse(parsing: line)
            if response.compactRevision > 0 { return .compacted(compactRevision: response.compactRevision) }
            if response.canceled { return .canceled(response.cancelReason) }
            if let revision = response.events.map(\.modRevision).max() { onEvents(response.events, revision) }
            return nil
        }
        var lines = JSONLineBuffer(maxLineBytes: Self.maxWatchMessageBytes)
        do throws(EtcdError) {
            while true {
                while let line = try lines.nextLine() {
                    if let finished = try take(line) { return finished }
                }
                guard ContinuousClock.now < end else { return .expired }
                guard let part = try exchange.readBodyPart(deadline: end, stop: stop) else {
                    if let line = lines.remainder(), let finished = try take(line) { return finished }
                    throw EtcdError("the watch stream ended")
                }
                lines.append(part)
            }
        } catch {
            if stop.isStopped { throw EtcdError("stopped") }
            if ContinuousClock.now >= end { return .expired }
            throw EtcdError("etcd \(endpoint): watch: \(error.description)")
        }
    }

    /// Runs `attempt` on each endpoint in turn, from the last one that answered, and returns
    /// the first answer.
    private func firstAnswer<Answer>(
        stop: StopSignal, _ attempt: (EtcdEndpointAddress) throws(EtcdError) -> Answer
    ) throws(EtcdError) -> Answer {
        let first = lastAnswered.index.load(ordering: .relaxed)
        var failures: [String] = []
        for offset in 0..<endpoints.count {
            guard !stop.isStopped else { throw EtcdError("stopped") }
            let index = (first + offset) % endpoints.count
            do {
                let answer = try attempt(endpoints[index])
                lastAnswered.index.store(index, ordering: .relaxed)
                return answer
            } catch {
                guard !stop.isStopped else { throw EtcdError("stopped") }
                failures.append("\(endpoints[index]): \(error.description)")
            }
        }
        throw EtcdError("no etcd endpoint answered: " + failures.joined(separator: "; "))
    }

    /// Throws unless the response is `200 OK`, with etcd's message when it sent one.
    private static func requireOK(_ exchange: HTTPExchange, deadline: ContinuousClock.Instant, stop: StopSignal) throws(EtcdError) {
        let head = exchange.head
        guard head.status != 200 else { return }
        let status = "HTTP \(head.status) \(head.reason)"
        guard let body = try? exchange.readBody(limit: maxErrorBodyBytes, deadline: deadline, stop: stop), !body.isEmpty else {
            throw EtcdError(status)
        }
        if let response = try? EtcdWire.parse(body, what: "error response"), let error = EtcdWire.gatewayError(in: response) {
            throw EtcdError("\(status): \(error)")
        }
        let text = body[..<(body.lastIndex(where: { $0 > 0x20 }).map { $0 + 1 } ?? 0)]
        throw EtcdError("\(status): \(printableExcerpt(text))")
    }
}
