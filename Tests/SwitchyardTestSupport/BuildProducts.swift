import Foundation

/// Where the built products are: the plugins and the `switchyard` binary live next to the
/// test binary (SwiftPM's build folder), unless `SWITCHYARD_PLUGIN_DIR` says otherwise.
public enum BuildProducts {
    /// The build folder holding `lib*.so` and `switchyard`.
    public static var directory: String {
        if let override = ProcessInfo.processInfo.environment["SWITCHYARD_PLUGIN_DIR"], !override.isEmpty {
            return override
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }

    /// The path of plugin product `name`, e.g. `StandardBalancers` → `.../libStandardBalancers.so`.
    public static func plugin(_ name: String) -> String {
        "\(directory)/lib\(name).so"
    }

    /// The path of the `switchyard` executable.
    public static var switchyard: String { "\(directory)/switchyard" }

    /// The repository root (for fixtures and the ABI header).
    public static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}
