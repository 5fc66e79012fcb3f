import NIOCore

/// Who may change the proxy through the admin port, and which requests it answers: changes
/// (`PUT /log-level`) are taken only from the loopback interface, whatever address the admin
/// port is bound to; and the pages a browser reads (the dashboard, `/state`, `/config`,
/// `/plugins`) and every change answer only a `Host` that names an address, `localhost` or the
/// admin address itself, so a web page that rebinds its own name to 127.0.0.1 (DNS rebinding)
/// cannot read or change them. `/live`, `/ready` and `/metrics` answer any Host: probes and
/// scrapers name the proxy as they like.
enum AdminAccess {
    /// Whether a request with Host `host` may see the browser pages or change the proxy:
    /// no Host (HTTP/1.0), an IPv4 or bracketed IPv6 literal, `localhost`, or `adminHost`,
    /// each with any port.
    static func hostAllowed(_ host: String?, adminHost: String) -> Bool {
        guard let host = host?.lowercased() else { return true }
        let name: Substring
        if host.hasPrefix("[") {
            guard let end = host.firstIndex(of: "]") else { return false }
            return (try? SocketAddress(ipAddress: String(host[host.index(after: host.startIndex)..<end]), port: 0)) != nil
        } else {
            name = host.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        if name == "localhost" || name == adminHost.lowercased() { return true }
        return (try? SocketAddress(ipAddress: String(name), port: 0)) != nil
    }

    /// Whether `peer` is a loopback address (127.0.0.0/8 or ::1, or IPv4-mapped loopback).
    static func mayChange(from peer: SocketAddress?) -> Bool {
        switch peer {
        case .v4(let address)?:
            return UInt32(bigEndian: address.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let address)?:
            let bytes = withUnsafeBytes(of: address.address.sin6_addr) { Array($0) }
            if bytes == Array(repeating: 0, count: 15) + [1] { return true }  // ::1
            // ::ffff:127.x.y.z
            return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
        default:
            return false
        }
    }
}
