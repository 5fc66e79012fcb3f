#if canImport(Glibc)
import Glibc
#endif

/// Watches a config file for changes (`run --watch-config`) by polling what identifies its
/// content: the path it resolves to (a Kubernetes ConfigMap volume swaps a `..data` symlink),
/// and that file's device, inode, size and modification time. Polling rather than inotify: it
/// sees a swap of any symlink on the path, costs one `stat` per interval, and a file that is
/// missing for a moment (mid-swap) is simply not a change until it is back.
struct ConfigFileWatch {
    /// What identifies one version of the file.
    struct Fingerprint: Equatable {
        let resolvedPath: String
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modifiedSeconds: Int
        let modifiedNanoseconds: Int
    }

    let path: String

    /// The file's fingerprint now, or nil when it cannot be read.
    func fingerprint() -> Fingerprint? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        var info = stat()
        guard stat(resolved, &info) == 0 else { return nil }
        return Fingerprint(
            resolvedPath: String(cString: resolved), device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modifiedSeconds: info.st_mtim.tv_sec, modifiedNanoseconds: info.st_mtim.tv_nsec)
    }

    /// Checks every `interval` until cancelled; calls `changed` once for each new fingerprint
    /// after `initial` (taken before the running config was read, so a change made while it
    /// loaded is not missed).
    func run(from initial: Fingerprint?, every interval: Duration, changed: @Sendable () -> Void) async {
        var last = initial
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard let now = fingerprint(), now != last else { continue }
            last = now
            changed()
        }
    }
}
