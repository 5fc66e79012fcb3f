#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `host:port` pair as written in config and in `Host` / `:authority` headers.
///
/// Accepts `name:port`, `1.2.3.4:port`, `[::1]:port`, and, where a default port applies,
/// the same without the port.
public struct Authority: Hashable, Sendable, CustomStringConvertible {
    /// Host part, without brackets for IPv6.
    public let host: String
    /// Port, 1-65535.
    public let port: UInt16

    /// Creates an authority from its parts.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `text`. With `defaultPort` nil the port is required. Port 0 ("any free port",
    /// for listeners) is accepted only with `allowsPortZero`.
    /// - Throws: ``AuthorityError`` naming what is wrong.
    public init(parsing text: String, defaultPort: UInt16? = nil, allowsPortZero: Bool = false) throws(AuthorityError) {
        var hostPart = Substring(text)
        var portPart: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw AuthorityError(text, "unclosed '['") }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { throw AuthorityError(text, "expected ':' after ']'") }
                portPart = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") { throw AuthorityError(text, "IPv6 addresses need brackets, as in [::1]:80") }
        }
        guard !hostPart.isEmpty else { throw AuthorityError(text, "empty host") }
        guard hostPart.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "/" && $0 != "@" }) else {
            throw AuthorityError(text, "host has characters not allowed in an authority")
        }
        let port: UInt16
        if let portPart {
            guard let p = UInt16(portPart), p > 0 || allowsPortZero else {
                throw AuthorityError(text, allowsPortZero ? "port must be 0-65535" : "port must be 1-65535")
            }
            port = p
        } else if let defaultPort {
            port = defaultPort
        } else {
            throw AuthorityError(text, "missing port")
        }
        self.init(host: String(hostPart), port: port)
    }

    /// Parses an IP literal and a port, `10.0.0.1:80` or `[fd00::1]:80` (IPv6 in brackets), into
    /// its canonical form: two spellings of one address (`[FD00:0::1]:80`, `[fd00::1]:80`) are
    /// equal. Nil for anything else (a name, a missing port).
    public init?(ipLiteral text: String) {
        guard let parsed = try? Authority(parsing: text) else { return nil }
        let family = parsed.host.contains(":") ? AF_INET6 : AF_INET
        var storage = in6_addr()
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_pton(family, parsed.host, &storage) == 1, inet_ntop(family, &storage, &buffer, socklen_t(buffer.count)) != nil else {
            return nil
        }
        self.init(host: String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: parsed.port)
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// Why a string is not an authority.
public struct AuthorityError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text that failed to parse.
    public let text: String
    /// What is wrong with it.
    public let reason: String

    init(_ text: String, _ reason: String) {
        self.text = text
        self.reason = reason
    }

    /// `'text' is not host:port (reason)`.
    public var description: String { "'\(text)' is not host:port (\(reason))" }
}
