#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A private copy of a plugin file that `dlopen` can open as a new object: an anonymous
/// in-memory file (`memfd_create`) opened by the name `/proc/self/fd/N`. The dynamic linker
/// would hand back the first mapping for the original path, so a changed file's next
/// generation loads from here.
///
/// Once `dlopen` has taken it, the descriptor stays open for the life of the process: the
/// code stays mapped anyway, and an open descriptor keeps the name unique (no later copy can
/// reuse it). The copy holds the whole file in memory, debug sections included, so stripped
/// plugins upgrade cheaper. Only the file itself is copied: the new generation finds its own
/// dependencies by its RUNPATH, where `$ORIGIN` is now `/proc/self/fd`, and a dependency the
/// process already loaded is reused by its soname.
struct PluginCopy {
    /// The name to `dlopen`.
    let path: String
    /// The file as it was read (`fstat` of the descriptor the bytes came from): what the copy
    /// holds, even if the path was replaced since it was checked.
    let identity: PluginFile.Identity
    private let descriptor: Int32

    /// Copies `file`, generation `generation`, into memory.
    /// - Throws: ``PluginError`` `.notLoadable` saying what failed.
    init(of file: String, generation: Int) throws(PluginError) {
        func failure(_ what: String) -> PluginError {
            PluginError(file: file, .notLoadable("\(what) for generation \(generation): \(String(cString: strerror(errno)))"))
        }
        let source = open(file, O_RDONLY | O_CLOEXEC)
        guard source >= 0 else { throw failure("cannot read it") }
        defer { close(source) }
        var info = stat()
        guard fstat(source, &info) == 0 else { throw failure("cannot read it") }
        // Glibc's module map hides memfd_create (a GNU extension); look it up instead.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "memfd_create") else {
            throw PluginError(file: file, .notLoadable("cannot copy it for generation \(generation): this C library has no memfd_create"))
        }
        let memfdCreate = unsafeBitCast(symbol, to: (@convention(c) (UnsafePointer<CChar>, UInt32) -> Int32).self)
        let closeOnExec: UInt32 = 1  // MFD_CLOEXEC
        let copy = memfdCreate("switchyard-plugin-generation-\(generation)", closeOnExec)
        guard copy >= 0 else { throw failure("cannot make a private copy") }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                let error = failure("cannot read it")
                close(copy)
                throw error
            }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { write(copy, $0.baseAddress.map { $0 + written }, count - written) }
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    let error = failure("cannot write its private copy")
                    close(copy)
                    throw error
                }
                written += n
            }
        }
        self.path = "/proc/self/fd/\(copy)"
        self.identity = PluginFile.Identity(info)
        self.descriptor = copy
    }

    /// Closes the copy: `dlopen` refused it, so nothing maps it.
    func discard() {
        close(descriptor)
    }
}
