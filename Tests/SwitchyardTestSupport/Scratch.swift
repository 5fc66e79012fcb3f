import Foundation

/// The test process's own folder under the system's temporary one. Every fixture file, plugin
/// build, dnsmasq and etcd data folder goes in it, and it is removed as the process exits, so a
/// test run leaves nothing behind in `/tmp` (etcd alone writes 62 MB a server).
public enum Scratch {
    /// `switchyard-tests-PID-UUID` under the temporary folder, made on first use; removed at exit.
    public static let root: URL = {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("switchyard-tests-\(getpid())-\(UUID().uuidString)")
        // dnsmasq drops privileges: the folders it reads must be world-readable.
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        atexit { try? FileManager.default.removeItem(at: Scratch.root) }
        return root
    }()

    /// A fresh folder `PREFIX-UUID` in ``root``.
    public static func folder(_ prefix: String) throws -> URL {
        let folder = root.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A fresh path `PREFIX-UUID` in ``root`` (nothing is made there).
    public static func path(_ prefix: String) -> String {
        root.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    }
}
