/// The records of one type for a name, found by following CNAMEs through a set of records.
struct DNSCNAMEChain {
    /// The most CNAMEs followed from one name.
    static let maxLength = 16

    /// The records of the type asked for owned by the chain's last name (empty when none).
    let records: [DNSRecord]

    /// The lowest TTL of the CNAMEs followed, nil when there were none.
    let ttl: UInt32?

    /// Follows CNAMEs from `name` within `records` to the records of `type`.
    ///
    /// When a name owns records of `type`, those are the answer; otherwise its CNAME (the first
    /// one, should there be several) leads on. Throws when the chain is longer than
    /// ``maxLength`` or comes back to a name.
    init(from name: DNSName, type: DNSRecordType, in records: [DNSRecord]) throws(DNSParseError) {
        var current = name
        var visited: Set<DNSName> = [name]
        var ttl: UInt32?
        while true {
            let found = records.filter { $0.name == current && $0.type == type }
            if !found.isEmpty {
                self.records = found
                self.ttl = ttl
                return
            }
            let alias = records.lazy.compactMap { record -> (DNSName, UInt32)? in
                guard record.name == current, case .cname(let target) = record.data else { return nil }
                return (target, record.ttl)
            }.first
            guard let (target, aliasTTL) = alias else {
                self.records = []
                self.ttl = ttl
                return
            }
            guard visited.count <= Self.maxLength, visited.insert(target).inserted else {
                throw .malformed("CNAME chain from \(name) loops or is longer than \(Self.maxLength)")
            }
            ttl = min(ttl ?? aliasTTL, aliasTTL)
            current = target
        }
    }
}
