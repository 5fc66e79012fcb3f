/// A DNS server to ask: an IP literal and a port.
public struct DNSServer: Sendable, Hashable {
    /// An IPv4 or IPv6 literal (no brackets needed).
    public let host: String

    /// The server's port, 53 usually.
    public let port: UInt16

    /// The server at `host` (an IP literal) and `port`.
    public init(host: String, port: UInt16 = 53) {
        self.host = host
        self.port = port
    }

    /// "host:port", or "[host]:port" for IPv6, for messages.
    var label: String {
        SocketAddress.describe(host: host, port: port)
    }
}

/// An address a lookup found.
public struct DNSTarget: Sendable, Hashable {
    /// "1.2.3.4:80" or "[::1]:80".
    public let address: String

    /// The SRV weight (0 read as 1), 1 for A/AAAA.
    public let weight: Int

    /// A target at `address` ("1.2.3.4:80" or "[::1]:80") with `weight`.
    public init(address: String, weight: Int) {
        self.address = address
        self.weight = weight
    }
}

/// What ``DNSClient/resolve(_:port:stop:)`` found.
public enum DNSResult: Sendable, Equatable {
    /// The targets, sorted, with the lowest TTL of the records used.
    case found([DNSTarget], ttl: UInt32)
    /// NXDOMAIN, or NOERROR with no usable records (NODATA).
    case notFound
    /// Timeouts, SERVFAIL/REFUSED, malformed answers, an invalid name: the message says what
    /// and which server.
    case failure(String)
}

/// A blocking stub resolver for A, AAAA and SRV lookups.
///
/// Each query is tried up to `attempts` times, cycling through the servers, each try waiting
/// up to `timeout`: over UDP, ignoring datagrams that do not answer it, and again over TCP
/// (with a new `timeout`) when the answer is truncated. NXDOMAIN and NOERROR end the tries;
/// timeouts, socket errors, malformed answers and other response codes move to the next try.
/// A and AAAA are asked together on one UDP socket, as glibc does, so a silent server costs
/// `timeout × attempts` per name. Queries carry no EDNS, so UDP answers stop at 512 bytes and
/// longer ones come over TCP.
public struct DNSClient: Sendable {
    /// The most distinct SRV targets one lookup resolves.
    static let maxSRVTargets = 256

    private let servers: [DNSServer]
    private let timeout: Duration
    private let attempts: Int

    /// A client asking `servers` in turn, `attempts` tries per query (at least 1), each
    /// waiting up to `timeout`.
    public init(servers: [DNSServer], timeout: Duration, attempts: Int) {
        self.servers = servers
        self.timeout = timeout
        self.attempts = max(1, attempts)
    }

    /// Blocking lookup. If `name` starts with "_" it is an SRV name: keep only records of the
    /// lowest priority, target ports from SRV, weights from SRV (0 becomes 1), targets resolved
    /// from the additional section when present else by A and AAAA queries; otherwise query A
    /// and AAAA and use `port` for every address. Dedupe addresses. Sorted output (stable).
    ///
    /// `name` is absolute whether or not it ends in ".". A and AAAA together are found when
    /// either has records, not found when both are NXDOMAIN or NODATA, and failed otherwise.
    /// SRV targets that have no address are skipped, but a target whose lookup fails fails the
    /// whole lookup, so a partial set is never returned as complete. An address listed twice
    /// (with the same port) is returned once, with its highest weight.
    public func resolve(_ name: String, port: UInt16, stop: StopSignal) -> DNSResult {
        guard let queryName = DNSName(name) else {
            return .failure("invalid DNS name \"\(name)\"")
        }
        let lookup: DNSLookup<[DNSEndpoint]>
        if name.hasPrefix("_") {
            lookup = services(queryName, stop: stop)
        } else {
            lookup = addresses(of: queryName, stop: stop).map { addresses in
                addresses.map { DNSEndpoint(address: $0, port: port, weight: 1) }
            }
        }
        switch lookup {
        case .found(let endpoints, let ttl):
            return .found(DNSEndpoint.deduplicated(endpoints).map(\.target), ttl: ttl)
        case .notFound:
            return .notFound
        case .failure(let message):
            return .failure(message)
        }
    }

    /// The SRV records of `name` with the lowest priority, each target's addresses at the
    /// record's port.
    private func services(_ name: DNSName, stop: StopSignal) -> DNSLookup<[DNSEndpoint]> {
        let answer: DNSAnswer
        var ttl: UInt32
        // One outcome per type asked for.
        switch records([.srv], of: name, stop: stop)[0] {
        case .found(let found, let foundTTL):
            answer = found
            ttl = foundTTL
        case .notFound:
            return .notFound
        case .failure(let message):
            return .failure(message)
        }
        // A target of "." means the service is not offered there (RFC 2782).
        let services = answer.records.compactMap { record -> DNSService? in
            guard case .srv(let priority, let weight, let port, let target) = record.data, !target.isRoot else {
                return nil
            }
            return DNSService(priority: priority, weight: max(1, Int(weight)), port: port, target: target)
        }
        guard let lowest = services.map(\.priority).min() else { return .notFound }
        let chosen = services.filter { $0.priority == lowest }
        var targets: [DNSName] = []
        var seen: Set<DNSName> = []
        for service in chosen where seen.insert(service.target).inserted {
            targets.append(service.target)
        }
        guard targets.count <= Self.maxSRVTargets else {
            return .failure("SRV \(name): \(targets.count) targets, more than \(Self.maxSRVTargets)")
        }
        var resolved: [DNSName: [[UInt8]]] = [:]
        for target in targets {
            switch Self.glue(for: target, in: answer.additionals) ?? addresses(of: target, stop: stop) {
            case .found(let addresses, let addressTTL):
                resolved[target] = addresses
                ttl = min(ttl, addressTTL)
            case .notFound:
                continue
            case .failure(let message):
                return .failure("SRV \(name): \(message)")
            }
        }
        let endpoints = chosen.flatMap { service in
            resolved[service.target, default: []].map {
                DNSEndpoint(address: $0, port: service.port, weight: service.weight)
            }
        }
        return endpoints.isEmpty ? .notFound : .found(endpoints, ttl: ttl)
    }

    /// The A and AAAA addresses of `target` in an SRV response's additional section; nil when
    /// there are none.
    private static func glue(for target: DNSName, in additionals: [DNSRecord]) -> DNSLookup<[[UInt8]]>? {
        var addresses: [[UInt8]] = []
        var ttl = UInt32.max
        for type in [DNSRecordType.a, .aaaa] {
            guard let chain = try? DNSCNAMEChain(from: target, type: type, in: additionals) else { continue }
            for record in chain.records {
                if case .address(let address) = record.data {
                    addresses.append(address)
                    ttl = min(ttl, record.ttl, chain.ttl ?? .max)
                }
            }
        }
        return addresses.isEmpty ? nil : .found(addresses, ttl: ttl)
    }

    /// The A and AAAA addresses of `name`: found when either query has some.
    private func addresses(of name: DNSName, stop: StopSignal) -> DNSLookup<[[UInt8]]> {
        var addresses: [[UInt8]] = []
        var ttl = UInt32.max
        var failures: [String] = []
        for lookup in records([.a, .aaaa], of: name, stop: stop) {
            switch lookup {
            case .found(let answer, let answerTTL):
                for record in answer.records {
                    if case .address(let address) = record.data {
                        addresses.append(address)
                    }
                }
                ttl = min(ttl, answerTTL)
            case .notFound:
                continue
            case .failure(let message):
                failures.append(message)
            }
        }
        if !addresses.isEmpty {
            return .found(addresses, ttl: ttl)
        }
        return failures.isEmpty ? .notFound : .failure(failures.joined(separator: "; "))
    }

    /// Asks for the records of each of `types` for `name` (all at once over UDP), following
    /// CNAMEs in the answers, trying each question up to `attempts` times until it has an
    /// answer. Each TTL is the lowest of the records and the CNAMEs followed. The outcomes are
    /// in the order of `types`.
    private func records(_ types: [DNSRecordType], of name: DNSName, stop: StopSignal) -> [DNSLookup<DNSAnswer>] {
        var outcomes: [DNSLookup<DNSAnswer>?] = Array(repeating: nil, count: types.count)
        var lastErrors = Array(repeating: "no DNS servers", count: types.count)
        var tries = ""
        for attempt in 0..<(servers.isEmpty ? 0 : attempts) {
            let pending = types.indices.filter { outcomes[$0] == nil }
            guard !pending.isEmpty else { break }
            guard !stop.isStopped else {
                pending.forEach { lastErrors[$0] = "stopped" }
                break
            }
            tries = attempt == 0 ? "" : " (\(attempt + 1) attempts)"
            let server = servers[attempt % servers.count]
            let queries = pending.map { DNSQuery(name: name, type: types[$0]) }
            let results = DNSTransport.exchange(queries, with: server, timeout: timeout, stop: stop)
            for (index, result) in zip(pending, results) {
                switch result {
                case .success(let response):
                    switch response.rcode {
                    case 0:
                        do throws(DNSParseError) {
                            let chain = try DNSCNAMEChain(from: name, type: types[index], in: response.answers)
                            if let recordTTL = chain.records.map(\.ttl).min() {
                                let answer = DNSAnswer(records: chain.records, additionals: response.additionals)
                                outcomes[index] = .found(answer, ttl: min(recordTTL, chain.ttl ?? .max))
                            } else {
                                outcomes[index] = .notFound
                            }
                        } catch {
                            lastErrors[index] = "\(server.label): \(error)"
                        }
                    case 3:
                        outcomes[index] = .notFound
                    default:
                        lastErrors[index] = "\(server.label): \(response.rcodeName)"
                    }
                case .failure(let error):
                    lastErrors[index] = error.message
                }
            }
        }
        return types.indices.map { outcomes[$0] ?? .failure("\(types[$0]) \(name): \(lastErrors[$0])\(tries)") }
    }
}

/// What a lookup step found: values with the lowest TTL of the records used, nothing, or why
/// it failed.
private enum DNSLookup<Value> {
    case found(Value, ttl: UInt32)
    case notFound
    case failure(String)

    /// The same outcome with `transform` applied to what was found.
    func map<Other>(_ transform: (Value) -> Other) -> DNSLookup<Other> {
        switch self {
        case .found(let value, let ttl): .found(transform(value), ttl: ttl)
        case .notFound: .notFound
        case .failure(let message): .failure(message)
        }
    }
}

/// The records a query found and the additional section they came with.
private struct DNSAnswer {
    let records: [DNSRecord]
    let additionals: [DNSRecord]
}

/// One SRV record's fields, weight already at least 1.
private struct DNSService {
    let priority: UInt16
    let weight: Int
    let port: UInt16
    let target: DNSName
}
