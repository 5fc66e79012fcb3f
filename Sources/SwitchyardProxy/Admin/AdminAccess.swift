import NIOCore

/// Who may change the proxy through the admin port: changes (`PUT /log-level`) are taken only
/// from the loopback interface, whatever address the admin port is bound to.
enum AdminAccess {
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
