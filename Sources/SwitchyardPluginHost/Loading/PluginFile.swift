#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a plugin file may come from, checked before it is opened (its constructors run at
/// `dlopen`, so a refused file must never be opened).
public enum PluginFile {
    /// The path of plugin `name` as the config writes it: an absolute name as it is; any other
    /// name inside `directory`, never climbing out of it (`../x.so` is refused, and so is a
    /// name whose symbolic links resolve outside it).
    public static func path(of name: String, in directory: String) throws(PluginError) -> String {
        if name.hasPrefix("/") { return name }
        guard !name.isEmpty, !name.split(separator: "/", omittingEmptySubsequences: false).contains("..") else {
            throw PluginError(file: name, .outsidePluginDirectory(directory))
        }
        let path = "\(directory)/\(name)"
        guard let resolvedDirectory = resolved(directory), let resolvedPath = resolved(path) else {
            return path  // the loader reports what is missing
        }
        guard resolvedPath.hasPrefix(resolvedDirectory.hasSuffix("/") ? resolvedDirectory : resolvedDirectory + "/") else {
            throw PluginError(file: name, .outsidePluginDirectory(directory))
        }
        return path
    }

    /// Refuses a file that someone other than root or this process's user could have written
    /// or replaced, in the spirit of sshd's StrictModes: the file, or the folder that holds it,
    /// owned by another user or writable by everyone (a folder with the sticky bit and a
    /// trusted owner, such as /tmp, may be writable by everyone: others cannot replace what is
    /// in it).
    /// Returns the file's identity, to tell a changed file from the one already loaded.
    @discardableResult
    static func checkPermissions(_ resolved: String) throws(PluginError) -> Identity {
        var info = stat()
        guard stat(resolved, &info) == 0 else { throw PluginError(file: resolved, .notFound) }
        let identity = Identity(info)
        let trusted: Set<uid_t> = [0, geteuid()]
        if info.st_mode & S_IWOTH != 0 {
            throw PluginError(file: resolved, .insecurePermissions(resolved))
        }
        if !trusted.contains(info.st_uid) {
            throw PluginError(file: resolved, .untrustedOwner(resolved, owner: Int(info.st_uid)))
        }
        let slash = resolved.lastIndex(of: "/") ?? resolved.startIndex
        let folder = slash == resolved.startIndex ? "/" : String(resolved[..<slash])
        guard stat(folder, &info) == 0 else { return identity }
        if info.st_mode & S_IWOTH != 0, info.st_mode & S_ISVTX == 0 {
            throw PluginError(file: resolved, .insecurePermissions(folder))
        }
        if !trusted.contains(info.st_uid) {
            throw PluginError(file: resolved, .untrustedOwner(folder, owner: Int(info.st_uid)))
        }
        return identity
    }

    /// What tells one build of a file from the next: a new file renamed over the path (as `cc`,
    /// `install` and `mv` do) has another inode; one rewritten in place, another size or
    /// modification time.
    struct Identity: Equatable {
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modified: timespec

        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = info.st_mtim
        }

        static func == (a: Identity, b: Identity) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size && a.modified.tv_sec == b.modified.tv_sec
                && a.modified.tv_nsec == b.modified.tv_nsec
        }
    }

    /// `path` with every symbolic link, `.` and `..` resolved (`realpath(3)`), if it exists.
    public static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
