import CEpoll
import Glibc
import NIOCore

/// A listening socket on the loop: each accepted connection becomes an `EpollSocketChannel` with
/// the handlers `initialize` adds.
public final class EpollListener: PolledSocket {
    private let fd: Int32
    private let loop: EpollEventLoop
    private let initialize: (Channel) throws -> Void

    public init(port: UInt16, on loop: EpollEventLoop, initialize: @escaping (Channel) throws -> Void) {
        self.loop = loop
        self.initialize = initialize
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 1024) == 0 else {
            fatalError("EpollListener: cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        }
        loop.add(fd, self, read: true, write: false)
    }

    func ready(readable: Bool, writable: Bool, failed: Bool) {
        while true {
            let accepted = Glibc.accept(fd, nil, nil)
            guard accepted >= 0 else { return }
            _ = fcntl(accepted, F_SETFL, O_NONBLOCK)
            EpollSocketChannel.accepted(fd: accepted, on: loop, initialize: initialize)
        }
    }
}

/// 127.0.0.1:`port`.
func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
}
