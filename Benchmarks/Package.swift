// swift-tools-version:6.1
import PackageDescription

// Micro-benchmarks, in their own package so the root package's build and CI stay fast.
// Run from this folder: `swift package benchmark` (see README.md).
let package = Package(
    name: "SwitchyardBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "switchyard", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    ],
    targets: [
        .executableTarget(
            name: "PluginBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SwitchyardPluginHost", package: "switchyard"),
                .product(name: "StandardBalancing", package: "switchyard"),
            ],
            path: "Benchmarks/PluginBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "DataPathBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SwitchyardProxy", package: "switchyard"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            path: "Benchmarks/DataPathBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The gRPC benchmark row's upstream (grpc/run.sh). Outside Benchmarks/: package-benchmark
        // runs every executable there as a benchmark, and this one serves until stopped.
        .executableTarget(
            name: "GRPCUpstream",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            path: "grpc/GRPCUpstream"
        ),
        // The h2c floor beside the loopback harness's peers (h2relay/README.md): an HTTP/2 layer of
        // its own on NIO's channels, no NIOHTTP2Handler. Outside Benchmarks/ for the same reason.
        .executableTarget(
            name: "H2Relay",
            dependencies: [
                "RelayHandlers",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "h2relay/H2Relay"
        ),
        // The relay's channel handlers, for H2Relay (NIO's sockets) and ChannelRelay (its own).
        .target(
            name: "RelayHandlers",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            path: "h2relay/RelayHandlers"
        ),
        // H2Relay's relay (HTTP/1.1 and h2c) below NIO's channels: one epoll loop over plain
        // sockets (epollrelay/README.md). Outside Benchmarks/ for the same reason.
        .executableTarget(
            name: "EpollRelay",
            dependencies: [
                "CEpoll",
                "RelayHandlers",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            path: "epollrelay/EpollRelay"
        ),
        // H2Relay's handlers in NIO's pipeline on an epoll loop and channel of its own.
        .executableTarget(
            name: "ChannelRelay",
            dependencies: [
                "EpollTransport",
                "RelayHandlers",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "epollrelay/ChannelRelay"
        ),
        // Switchyard's own data path (its handlers, routing, balancing, metrics) on EpollTransport.
        .executableTarget(
            name: "SwitchyardOnEpoll",
            dependencies: [
                "EpollTransport",
                .product(name: "SwitchyardProxy", package: "switchyard"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "epollrelay/SwitchyardOnEpoll"
        ),
        // An EventLoop and a Channel of its own under NIO's ChannelPipeline, on epoll.
        .target(
            name: "EpollTransport",
            dependencies: [
                "CEpoll",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "epollrelay/EpollTransport"
        ),
        .target(name: "CEpoll", path: "epollrelay/CEpoll"),
    ],
    swiftLanguageModes: [.v6]
)
