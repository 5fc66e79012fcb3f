import NIOCore
import Testing

@testable import SwitchyardProxy

/// Who may change the log level: the loopback interface only, checked on the peer address.
@Suite("Admin access")
struct AdminAccessTests {
    @Test(
        "loopback peers may change the proxy; any other peer may not",
        arguments: [
            ("127.0.0.1", true), ("127.255.3.4", true), ("::1", true), ("::ffff:127.0.0.1", true),
            ("10.0.0.1", false), ("192.168.1.20", false), ("128.0.0.1", false), ("::ffff:10.0.0.1", false), ("2001:db8::1", false),
            ("::", false),
        ])
    func peers(_ address: String, _ allowed: Bool) throws {
        #expect(AdminAccess.mayChange(from: try SocketAddress(ipAddress: address, port: 4191)) == allowed)
    }

    @Test("a peer without an address (a Unix socket) may not")
    func unix() throws {
        #expect(!AdminAccess.mayChange(from: try SocketAddress(unixDomainSocketPath: "/tmp/switchyard-admin.sock")))
        #expect(!AdminAccess.mayChange(from: nil))
    }

    @Test(
        "browser pages and changes answer only a Host that is an address, localhost or the admin address (DNS rebinding)",
        arguments: [
            ("127.0.0.1:4191", true), ("127.0.0.1", true), ("10.1.2.3:4191", true), ("[::1]:4191", true), ("[2001:db8::1]", true),
            ("localhost:4191", true), ("LOCALHOST", true), ("admin.internal:4191", true),
            ("evil.example:4191", false), ("evil.example", false), ("127.0.0.1.evil.example", false), ("[not-an-address]", false),
            ("[::1", false),
        ])
    func hosts(_ host: String, _ allowed: Bool) {
        #expect(AdminAccess.hostAllowed(host, adminHost: "admin.internal") == allowed)
    }

    @Test("no Host (HTTP/1.0) is allowed")
    func noHost() {
        #expect(AdminAccess.hostAllowed(nil, adminHost: "127.0.0.1"))
    }
}
