/// Where one etcd member's client URL points: `http://HOST:PORT` or `HOST:PORT`, with an
/// IPv6 host in brackets (`[::1]:2379`). TLS (`https://`) is not supported.
struct EtcdEndpointAddress: Equatable, Sendable, CustomStringConvertible {
    /// The host as given, without brackets; handed to ``BlockingSocket/connectTCP(host:port:deadline:stop:)``.
    let host: String
    /// The TCP port.
    let port: UInt16

    /// `HOST:PORT` for the `Host` header, brackets kept around an IPv6 host.
    var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `http://HOST:PORT`, for messages.
    var description: String { "http://\(hostHeader)" }

    /// Parses an endpoint: an optional `http://`, the host, `:PORT`, and an optional `/`.
    /// - Throws: ``EtcdError`` naming the endpoint and what is wrong with it.
    init(parsing text: String) throws(EtcdError) {
        var rest = Substring(text)
        if let schemeEnd = rest.firstRange(of: "://") {
            let scheme = rest[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "http" else {
                throw EtcdError(
                    scheme == "https"
                        ? "etcd endpoint '\(text)': https is not supported (only plain http)"
                        : "etcd endpoint '\(text)': unknown scheme '\(scheme)' (use http://HOST:PORT)")
            }
            rest = rest[schemeEnd.upperBound...]
        }
        if rest.last == "/" { rest = rest.dropLast() }
        let hostPart: Substring
        let portPart: Substring
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].first == ":" else {
                throw EtcdError("etcd endpoint '\(text)': expected [IPV6]:PORT")
            }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            portPart = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else { throw EtcdError("etcd endpoint '\(text)': expected HOST:PORT") }
            hostPart = rest[..<colon]
            portPart = rest[rest.index(after: colon)...]
            guard !hostPart.contains(":") else { throw EtcdError("etcd endpoint '\(text)': put an IPv6 host in brackets") }
        }
        guard !hostPart.isEmpty, !hostPart.contains(where: { "/?#@[] ".contains($0) }) else {
            throw EtcdError("etcd endpoint '\(text)': bad host")
        }
        guard portPart.allSatisfy({ ("0"..."9").contains($0) }), let port = UInt16(portPart), port > 0 else {
            throw EtcdError("etcd endpoint '\(text)': port must be 1...65535")
        }
        host = String(hostPart)
        self.port = port
    }
}
