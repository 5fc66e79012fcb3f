import Glibc

/// The name servers of the system resolver's configuration.
public enum ResolvConf {
    /// The most servers used, as in glibc.
    static let maxServers = 3

    /// The most bytes of the file read.
    static let maxFileSize = 64 * 1024

    /// The servers on the file's `nameserver` lines, in order, at port 53: IPv4 and IPv6
    /// literals only (scoped addresses such as `fe80::1%eth0` and anything else invalid are
    /// skipped), at most 3, as glibc uses. Empty when the file cannot be read.
    public static func servers(path: String = "/etc/resolv.conf") -> [DNSServer] {
        var servers: [DNSServer] = []
        for line in read(path).split(separator: UInt8(ascii: "\n")) where servers.count < maxServers {
            let words = line.split(whereSeparator: isBlank)
            guard words.count >= 2, words[0].elementsEqual("nameserver".utf8) else { continue }
            let host = String(decoding: words[1], as: UTF8.self)
            if isIPLiteral(host) {
                servers.append(DNSServer(host: host, port: 53))
            }
        }
        return servers
    }

    /// Whether `byte` separates words: a space, a tab, or the carriage return of a CRLF line.
    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }

    /// Whether `host` is an IPv4 or an unscoped IPv6 literal.
    private static func isIPLiteral(_ host: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
    }

    /// Up to ``maxFileSize`` bytes of the file at `path`; empty when it cannot be read.
    private static func read(_ path: String) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < maxFileSize {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return Array(bytes.prefix(maxFileSize))
    }
}
