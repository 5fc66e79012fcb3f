/// An address found by a lookup, with its port and weight; ordered IPv4 before IPv6, then by
/// address, then by port.
struct DNSEndpoint: Comparable {
    /// An IPv4 (4 bytes) or IPv6 (16 bytes) address, in network order.
    let address: [UInt8]

    /// The port to connect to.
    let port: UInt16

    /// The SRV weight, at least 1.
    let weight: Int

    static func < (lhs: DNSEndpoint, rhs: DNSEndpoint) -> Bool {
        if lhs.address.count != rhs.address.count {
            return lhs.address.count < rhs.address.count
        }
        if lhs.address != rhs.address {
            return lhs.address.lexicographicallyPrecedes(rhs.address)
        }
        if lhs.port != rhs.port {
            return lhs.port < rhs.port
        }
        return lhs.weight < rhs.weight
    }

    /// The endpoints with each address and port once (keeping the highest weight), sorted.
    static func deduplicated(_ endpoints: [DNSEndpoint]) -> [DNSEndpoint] {
        var unique: [DNSEndpoint] = []
        for endpoint in endpoints.sorted() {
            if let last = unique.last, last.address == endpoint.address, last.port == endpoint.port {
                unique[unique.count - 1] = endpoint
            } else {
                unique.append(endpoint)
            }
        }
        return unique
    }

    /// "1.2.3.4:80" or "[2001:db8::1]:80" (RFC 5952 text) with the weight.
    var target: DNSTarget {
        let host =
            address.count == 4 ? address.map(String.init).joined(separator: ".") : "[\(Self.ipv6Text(address))]"
        return DNSTarget(address: "\(host):\(port)", weight: weight)
    }

    /// RFC 5952 text of a 16-byte address: lower-case hex groups without leading zeros, the
    /// first longest run of two or more zero groups as "::".
    private static func ipv6Text(_ bytes: [UInt8]) -> String {
        let groups = stride(from: 0, to: bytes.count - 1, by: 2).map {
            UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1])
        }
        var best = (start: 0, length: 0)
        var run = (start: 0, length: 0)
        for (index, group) in groups.enumerated() {
            if group == 0 {
                run = run.length == 0 ? (index, 1) : (run.start, run.length + 1)
                if run.length > best.length {
                    best = run
                }
            } else {
                run = (0, 0)
            }
        }
        let text = { (slice: ArraySlice<UInt16>) in slice.map { String($0, radix: 16) }.joined(separator: ":") }
        guard best.length >= 2 else { return text(groups[...]) }
        return text(groups[..<best.start]) + "::" + text(groups[(best.start + best.length)...])
    }
}
