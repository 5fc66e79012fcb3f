import EpollTransport
import Glibc
import Logging
import NIOCore
@_spi(Benchmarks) import SwitchyardProxy

// SwitchyardOnEpoll: Switchyard's own data path (its handlers, validation, routing,
// p2c-peak-ewma, metrics, the exchange, its HTTP/1.1 and HTTP/2 layers) in NIO's
// `ChannelPipeline`, on ../EpollTransport's event loop and channels instead of NIOPosix's.
// The config is the loopback harness's (`Benchmarks/lib/backends.sh`), so it stands beside
// `switchyard run --threads 1` in `loopback/alternate.sh`. Plugins come from
// SWITCHYARD_PLUGIN_DIR, or else the folder this binary is in. HTTP/2 upstreams, the admin
// server, reloads and the access log are not here. See ../README.md.
//
//   SwitchyardOnEpoll PORT 127.0.0.1:18081,127.0.0.1:18082,127.0.0.1:18083

let arguments = CommandLine.arguments
guard arguments.count == 3, let port = UInt16(arguments[1]) else {
    fatalError("usage: SwitchyardOnEpoll PORT 127.0.0.1:PORT[,127.0.0.1:PORT...]")
}
let endpoints = arguments[2].split(separator: ",").map { "{ address: \($0) }" }.joined(separator: ", ")
let yaml = """
    listen: 127.0.0.1:\(port)
    services: [{ authority: 127.0.0.1:\(port) }]
    backends:
      - authority: 127.0.0.1:\(port)
        balancer: { name: p2c-peak-ewma }
        endpoints: [\(endpoints)]
    """
let executable = String(cString: realpath("/proc/self/exe", nil))
let pluginDirectory = getenv("SWITCHYARD_PLUGIN_DIR").map { String(cString: $0) } ?? String(executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)])
signal(SIGPIPE, SIG_IGN)
var logger = Logger(label: "switchyard")
logger.logLevel = .warning
let loop = EpollEventLoop()
let path = try HostedDataPath(yaml: yaml, pluginDirectory: pluginDirectory, eventLoop: loop, logger: logger) { address, _, initialize in
    EpollSocketChannel.connect(to: address, on: loop, initialize: initialize)
}
let listener = EpollListener(port: port, on: loop) { channel in try path.accept(channel) }
loop.run()
