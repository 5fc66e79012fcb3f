import Glibc

/// One address a socket can connect to, as `getaddrinfo` gives it.
struct SocketAddress {
    /// The most addresses one name resolves to; the rest are ignored.
    private static let maxCount = 16

    /// `AF_INET` or `AF_INET6`.
    let family: Int32
    private var storage = sockaddr_storage()
    private let length: socklen_t

    private init?(_ info: addrinfo) {
        let size = Int(info.ai_addrlen)
        guard let address = info.ai_addr, size > 0, size <= MemoryLayout<sockaddr_storage>.size,
            info.ai_family == AF_INET || info.ai_family == AF_INET6
        else { return nil }
        family = info.ai_family
        length = info.ai_addrlen
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: size))
        }
    }

    /// `host:port`, or `[host]:port` when the host has colons (IPv6), for messages.
    static func describe(host: String, port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The IPv4 and IPv6 addresses of `host` (an IP literal, optionally in brackets, or, unless
    /// `numericOnly`, a name looked up with `getaddrinfo`, which blocks for as long as the
    /// system resolver takes) at `port`, for sockets of `socketType`.
    static func resolve(
        host: String,
        port: UInt16,
        socketType: Int32,
        numericOnly: Bool
    ) throws(SocketError) -> [SocketAddress] {
        var name = Substring(host)
        if name.hasPrefix("["), name.hasSuffix("]"), name.count >= 2 {
            name = name.dropFirst().dropLast()
        }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = socketType
        hints.ai_flags = AI_NUMERICSERV | (numericOnly ? AI_NUMERICHOST : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(String(name), String(port), &hints, &list)
        guard status == 0 else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            throw SocketError("resolve \(host): \(reason)")
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var next = list
        while let info = next, addresses.count < maxCount {
            if let address = SocketAddress(info.pointee) {
                addresses.append(address)
            }
            next = info.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw SocketError("resolve \(host): no IPv4 or IPv6 address") }
        return addresses
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafePointer(to: storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
