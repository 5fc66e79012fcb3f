// swift-tools-version:6.1
import PackageDescription

/// Linker flags every Swift plugin needs: never unload (`-z nodelete`, DESIGN.md §3) and
/// export nothing but the ABI entry symbol (`Plugins/plugin.exports`).
let pluginLinkerSettings: [LinkerSetting] = [
    .unsafeFlags([
        "-Xlinker", "-z", "-Xlinker", "nodelete",
        "-Xlinker", "--version-script=\(Context.packageDirectory)/Plugins/plugin.exports",
    ])
]

/// Release builds of `SwitchyardCore` serialize its code for the modules that import it
/// (cross-module optimization): the router's generic match over a request (`Router.route(_:)`)
/// is specialized for the proxy's request view instead of going through witness tables.
let crossModuleOptimization: SwiftSetting = .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))

/// Targets on the request path (the data path, the host's side of a pick, and the standard
/// balancers inside their plugin) touch class state many times per request; release
/// builds skip the dynamic exclusivity checks there (debug builds and tests keep them). In
/// `pick` alone the checks cost more than the call through the ABI.
///
/// They also copy and destroy their own values inline (`-disable-type-layout`): by default an
/// outlined copy or destroy of a value with several fields (a request part, a head, a parser's
/// state) looks its type's metadata up and calls its value witness. Those calls were 5 % of
/// an HTTP/1.1 request's user time in the proxy and are 2 % with the flag (what is left is
/// NIO's own values). The flag is a hidden one of the compiler (Swift 6.3): check that it is
/// still there, and still pays, with each new toolchain.
let requestPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked", "-Xfrontend", "-disable-type-layout"], .when(configuration: .release))
]

let package = Package(
    name: "switchyard",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "switchyard", targets: ["switchyard"]),
        .library(name: "SwitchyardCore", targets: ["SwitchyardCore"]),
        .library(name: "SwitchyardPluginHost", targets: ["SwitchyardPluginHost"]),
        .library(name: "SwitchyardPluginKit", targets: ["SwitchyardPluginKit"]),
        .library(name: "SwitchyardProxy", targets: ["SwitchyardProxy"]),
        .library(name: "StandardBalancing", targets: ["StandardBalancing"]),
        // Plugins: loaded with dlopen at startup, never linked by the proxy.
        .library(name: "StandardResolvers", type: .dynamic, targets: ["StandardResolvers"]),
        .library(name: "StandardBalancers", type: .dynamic, targets: ["StandardBalancers"]),
        .library(name: "StandardDiscovery", type: .dynamic, targets: ["StandardDiscovery"]),
        .library(name: "ExampleCBalancer", type: .dynamic, targets: ["ExampleCBalancer"]),
        .library(name: "ExampleErrorRampBalancer", type: .dynamic, targets: ["ExampleErrorRampBalancer"]),
        .library(name: "ExampleTeamResolver", type: .dynamic, targets: ["ExampleTeamResolver"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // The ABI: one header, written as the spec.
        .target(name: "CSwitchyardPlugin"),

        // The domain, no networking.
        .target(name: "SwitchyardCore", swiftSettings: [crossModuleOptimization]),

        // Swift bridging of the C ABI types, shared by the host and the plugin kit.
        .target(name: "SwitchyardABI", dependencies: ["CSwitchyardPlugin", "SwitchyardCore"]),

        // dlopen loader, registry, Swift wrappers over resolvers and balancers.
        .target(
            name: "SwitchyardPluginHost",
            dependencies: [
                "SwitchyardABI",
                "SwitchyardCore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: requestPathSettings
        ),

        // The SwiftNIO data path: listeners, routing, backends, upstream pools, config.
        .target(
            name: "SwitchyardProxy",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardPluginHost",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: requestPathSettings
        ),

        // Swift SDK for plugin authors.
        // No unsafe flags here: plugin packages depend on the kit by version, which SwiftPM
        // refuses for targets with unsafe flags (its pick path holds no class state anyway).
        .target(name: "SwitchyardPluginKit", dependencies: ["SwitchyardABI", "SwitchyardCore"]),

        // The CLI.
        .executableTarget(
            name: "switchyard",
            dependencies: [
                "SwitchyardCore",
                "SwitchyardPluginHost",
                "SwitchyardProxy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // The default plugin set.
        .target(
            name: "StandardResolvers",
            dependencies: ["SwitchyardPluginKit"],
            path: "Plugins/StandardResolvers",
            linkerSettings: pluginLinkerSettings
        ),
        .target(
            name: "StandardBalancing",
            dependencies: ["SwitchyardPluginKit"],
            path: "Plugins/StandardBalancers/Balancing",
            swiftSettings: requestPathSettings
        ),
        .target(
            name: "StandardBalancers",
            dependencies: ["StandardBalancing", "SwitchyardPluginKit"],
            path: "Plugins/StandardBalancers/Plugin",
            linkerSettings: pluginLinkerSettings
        ),
        // Endpoint discovery: the sources' wire protocols (DNS, the etcd v3 JSON gateway) over
        // blocking POSIX sockets, and the plugin running them on threads of its own.
        .target(
            name: "StandardDiscovering",
            dependencies: ["SwitchyardCore"],
            path: "Plugins/StandardDiscovery/Discovering"
        ),
        .target(
            name: "StandardDiscovery",
            dependencies: ["StandardDiscovering", "SwitchyardCore", "SwitchyardPluginKit"],
            path: "Plugins/StandardDiscovery/Plugin",
            linkerSettings: pluginLinkerSettings
        ),

        // Examples a plugin author starts from.
        .target(
            name: "ExampleCBalancer",
            dependencies: ["CSwitchyardPlugin"],
            path: "examples/c-balancer",
            exclude: ["README.md", "include/README.txt"]
        ),
        .target(
            name: "ExampleErrorRampBalancer",
            dependencies: ["CSwitchyardPlugin"],
            path: "examples/c-error-ramp",
            exclude: ["README.md", "include/README.txt"]
        ),
        .target(
            name: "ExampleTeamResolver",
            dependencies: ["SwitchyardPluginKit"],
            path: "examples/swift-resolver",
            exclude: ["README.md"],
            linkerSettings: pluginLinkerSettings
        ),

        // Tests load the built plugins with dlopen, as the proxy does; they never link them.
        .target(name: "SwitchyardTestSupport", path: "Tests/SwitchyardTestSupport"),
        .testTarget(name: "SwitchyardCoreTests", dependencies: ["SwitchyardCore"]),
        .testTarget(name: "SwitchyardPluginKitTests", dependencies: ["SwitchyardPluginKit"]),
        .testTarget(name: "SwitchyardPluginHostTests", dependencies: ["SwitchyardPluginHost", "SwitchyardTestSupport"]),
        .testTarget(name: "StandardPluginsTests", dependencies: ["SwitchyardPluginHost", "SwitchyardTestSupport"]),
        .testTarget(name: "StandardDiscoveringTests", dependencies: ["StandardDiscovering", "SwitchyardCore", "SwitchyardTestSupport"]),
        .testTarget(name: "SwitchyardCLITests", dependencies: ["SwitchyardTestSupport"]),
        .testTarget(
            name: "SwitchyardProxyTests",
            dependencies: [
                "SwitchyardCore", "SwitchyardProxy", "SwitchyardTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
