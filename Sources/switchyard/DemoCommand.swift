import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import SwitchyardProxy

#if canImport(Glibc)
import Glibc
#endif

/// `switchyard demo`: three local upstreams (one slow) and the proxy with the default plugins.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start three local demo upstreams and the proxy (examples/quickstart.yaml), and print what to try.")

    @Option(name: .long, help: "Folder of the plugin files (default: the switchyard binary's folder).")
    var pluginDir: String?

    @Flag(name: .long, help: "Print the demo's config and exit.")
    var printConfig = false

    @OptionGroup var logging: LogOptions

    func run() async throws {
        if printConfig {
            print(DemoConfig.yaml)
            return
        }
        let (logger, level) = try logging.bootstrap()
        let (stopRequests, requestStop) = AsyncStream<Void>.makeStream()
        let watch = SignalWatch([SIGTERM, SIGINT]) { requestStop.yield() }
        defer { watch.cancel() }

        let config = try! ProxyConfig(yaml: DemoConfig.yaml)  // a test keeps it valid
        let upstreamGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var upstreams: [DemoUpstream] = []
        for upstream in DemoConfig.upstreams {
            do {
                upstreams.append(
                    try await DemoUpstream.start(
                        name: upstream.name, host: upstream.host, port: upstream.port,
                        delay: .milliseconds(upstream.delayMilliseconds), group: upstreamGroup))
            } catch {
                printError("switchyard demo: cannot listen on \(upstream.host):\(upstream.port) for upstream \(upstream.name): \(error)")
                try? await upstreamGroup.shutdownGracefully()
                throw ExitCode.failure
            }
        }
        let runtime: ProxyRuntime
        do {
            runtime = try await ProxyRuntime.start(
                config: config, pluginDirectory: pluginDir ?? executableDirectory(), threads: 1, logLevel: level, logger: logger)
        } catch {
            printError("switchyard demo: \(error)")
            for upstream in upstreams { await upstream.stop() }
            try? await upstreamGroup.shutdownGracefully()
            throw ExitCode.failure
        }
        let listen = config.listen
        print(
            """

            Switchyard demo: the proxy listens on \(listen), in front of three upstreams:
            \(DemoConfig.upstreams.map { "  \($0.name)  \($0.host):\($0.port)\($0.delayMilliseconds > 0 ? "  (slow: +\($0.delayMilliseconds)ms)" : "")" }.joined(separator: "\n"))

            Try:
              curl -H 'host: web.demo.svc.cluster.local' http://\(listen)/
              for i in $(seq 100); do curl -s -H 'host: web.demo.svc.cluster.local' http://\(listen)/; done | sort | uniq -c
                  # ~90/10 between web-v1 and web-v2; p2c-peak-ewma sends the slow web-v1-1 less
              curl --http2-prior-knowledge -H 'host: web-v2.demo.svc.cluster.local' http://\(listen)/
              curl -i -H 'host: nope.demo' http://\(listen)/      # 404 with switchyard-proxy-error
              curl -s http://\(config.admin)/metrics | grep route_backend_requests
            The config is examples/quickstart.yaml (switchyard demo --print-config). Ctrl-C stops.

            """)
        fflush(nil)
        await runtime.stopRequested(stopRequests, requester: requestStop)
        await runtime.stop()
        for upstream in upstreams { await upstream.stop() }
        try? await upstreamGroup.shutdownGracefully()
    }
}
