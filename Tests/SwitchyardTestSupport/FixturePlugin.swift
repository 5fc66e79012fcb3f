import Foundation

/// Builds variants of `Tests/Fixtures/fixture_plugin.c` with the system C compiler, the way a
/// plugin author would (`cc -shared`), each into a fresh folder in ``Scratch``.
public enum FixturePlugin {
    /// Compiles a variant and returns the `.so` path.
    /// - Parameters:
    ///   - defines: preprocessor flags such as `WRONG_MAJOR` or `PLUGIN_NAME="x"`.
    ///   - source: the C file under `Tests/Fixtures`.
    ///   - header: the folder of the `switchyard_plugin.h` to build against (the live one by
    ///     default; `Tests/Fixtures/abi-1.0` is the frozen ABI 1.0 copy).
    public static func build(_ defines: [String] = [], source: String = "fixture_plugin.c", header: String? = nil) throws -> String {
        let root = BuildProducts.repositoryRoot
        let folder = try Scratch.folder("fixture")
        let output = folder.appendingPathComponent("libfixture.so").path
        let arguments = ["-shared", "-fPIC", "-Wall", "-Werror", "-I", header ?? "\(root)/Sources/CSwitchyardPlugin/include"]
            + defines.map { "-D\($0)" } + ["-o", output, "\(root)/\(sourcePath(source))"]
        let result = try Subprocess.run("/usr/bin/env", ["cc"] + arguments)
        guard result.status == 0 else {
            throw FixtureError(message: "cc failed (\(result.status)): \(result.standardError)")
        }
        return output
    }

    private static func sourcePath(_ source: String) -> String {
        source.hasPrefix("examples/") ? source : "Tests/Fixtures/\(source)"
    }

    /// Writes `contents` to a file in a fresh folder of ``Scratch`` named `name` and returns its path.
    public static func writeFile(named name: String, contents: String) throws -> String {
        let folder = try Scratch.folder("fixture")
        let path = folder.appendingPathComponent(name).path
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// A fixture could not be built.
public struct FixtureError: Error, CustomStringConvertible {
    /// What went wrong.
    public let message: String
    /// The message.
    public var description: String { message }
}
