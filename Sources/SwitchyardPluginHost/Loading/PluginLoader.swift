#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import SwitchyardABI
import Synchronization

/// Opens plugin files and checks their descriptors (DESIGN.md §3).
///
/// Files are opened with `dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)` and never closed.
/// A file is loaded once per process and *generation*, keyed by its resolved path: loading it
/// again returns the same ``LoadedPlugin`` without calling its entry function again, unless the
/// file changed on disk (another inode, size or modification time). Then the new build is
/// loaded as the next generation, from a private in-memory copy (the dynamic linker would hand
/// back the old mapping for the same path), and the earlier generations stay mapped for the
/// tables still using them.
public enum PluginLoader {
    /// The newest generation of each file, and the file as it was when that was loaded.
    private struct Entry {
        let identity: PluginFile.Identity
        let plugin: LoadedPlugin
        /// A later build that failed to load, and why. It is not copied or mapped again until
        /// the file changes once more: a reload retried with it fails the same way at once.
        var refused: (identity: PluginFile.Identity, error: PluginError)?
    }

    private static let loaded = Mutex<[String: Entry]>([:])

    /// Loads `path` (or returns the plugin already loaded from that file, if it has not changed).
    /// - Parameter logger: where the plugin's log lines and faults go.
    /// - Throws: ``PluginError`` naming the file and what is wrong. A new generation that fails
    ///   to load leaves the running one as it was (and is tried again on the next load).
    public static func load(_ path: String, logger: Logger) throws(PluginError) -> LoadedPlugin {
        guard let file = PluginFile.resolved(path) else { throw PluginError(file: path, .notFound) }
        let identity = try PluginFile.checkPermissions(file)
        // Loading is rare and startup-only: hold the lock across it so two threads loading the
        // same file cannot both run its entry function.
        return try loaded.withLock { cache throws(PluginError) in
            guard let previous = cache[file] else {
                let plugin = try open(file, handleName: file, generation: 1, logger: logger)
                cache[file] = Entry(identity: identity, plugin: plugin)
                return plugin
            }
            if previous.identity == identity { return previous.plugin }
            if let refused = previous.refused, refused.identity == identity { throw refused.error }
            let generation = previous.plugin.generation + 1
            let copy = try PluginCopy(of: file, generation: generation)
            let plugin: LoadedPlugin
            do throws(PluginError) {
                plugin = try open(file, handleName: copy.path, generation: generation, logger: logger)
            } catch {
                // Refused by dlopen, nothing maps the copy; refused later, it stays mapped
                // (RTLD_NODELETE), so its descriptor stays open too.
                if case .notLoadable = error.problem { copy.discard() }
                cache[file]?.refused = (copy.identity, error)
                throw error
            }
            cache[file] = Entry(identity: copy.identity, plugin: plugin)
            logger.notice(
                "plugin \(plugin.name) \(plugin.version) loaded from \(file) as generation \(generation) (the file changed on disk); \(generation) generations are mapped: a table using an earlier one keeps it until its requests end, and code is never unmapped")
            return plugin
        }
    }

    /// Opens `handleName` (the file itself, or a private copy of it) as generation `generation`
    /// of `file`, which every message names.
    private static func open(_ file: String, handleName: String, generation: Int, logger: Logger) throws(PluginError) -> LoadedPlugin {
        guard let handle = dlopen(handleName, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown dlopen error"
            throw PluginError(file: file, .notLoadable(reason))
        }
        // Never dlclose: RTLD_NODELETE keeps the code mapped anyway, and unloading Swift code
        // crashes the process.
        guard let symbol = dlsym(handle, entrySymbol) else { throw PluginError(file: file, .noEntrySymbol) }
        let entry = unsafeBitCast(symbol, to: sy_plugin_entry_v1_fn.self)
        let context = PluginContext(file: file, logger: logger)
        guard let descriptor = entry(context.makeServicesTable()) else { throw PluginError(file: file, .noDescriptor) }
        return try DescriptorReader(file: file, generation: generation, context: context).read(descriptor)
    }
}

/// Checks a descriptor field by field, reading only what its struct_size covers.
private struct DescriptorReader {
    let file: String
    let generation: Int
    let context: PluginContext

    func read(_ descriptor: UnsafePointer<sy_plugin_descriptor>) throws(PluginError) -> LoadedPlugin {
        // struct_size and the two version fields come first in every version of the ABI.
        let header = UnsafeRawPointer(descriptor)
        let size = Int(header.load(as: UInt32.self))
        guard size >= 8 else {
            throw PluginError(file: file, .structTooSmall(structName: "sy_plugin_descriptor", size: size, required: 8))
        }
        let major = Int(header.load(fromByteOffset: 4, as: UInt16.self))
        let minor = Int(header.load(fromByteOffset: 6, as: UInt16.self))
        guard major == hostABIMajor else { throw PluginError(file: file, .wrongMajor(plugin: major, host: hostABIMajor)) }
        try requireSize(size, minimum: SY_PLUGIN_DESCRIPTOR_SIZE_1_0, "sy_plugin_descriptor")

        // Fields are read one by one through the pointer: copying `pointee` whole would read
        // this header's sizeof, past the end of a shorter struct from an older minor.
        let name = try string(descriptor.pointee.name, "plugin name", limit: Int(SY_NAME_MAX), isName: true)
        let version = try string(descriptor.pointee.version, "plugin version", limit: Int(SY_SUMMARY_MAX), isName: false)
        context.named(name)
        let resolvers = try table(descriptor.pointee.resolvers, count: descriptor.pointee.resolver_count, "resolvers").map { def throws(PluginError) in
            try resolver(def, plugin: name)
        }
        let balancers = try table(descriptor.pointee.balancers, count: descriptor.pointee.balancer_count, "balancers").map { def throws(PluginError) in
            try balancer(def, plugin: name, abiMinor: minor)
        }
        // ABI 1.2 appended the discoveries: a shorter descriptor (an older minor) has none.
        let discoveriesEnd = MemoryLayout<sy_plugin_descriptor>.offset(of: \.discovery_count).map { $0 + MemoryLayout<UInt32>.size } ?? Int.max
        let discoveries =
            size >= discoveriesEnd
            ? try table(descriptor.pointee.discoveries, count: descriptor.pointee.discovery_count, "discoveries").map { def throws(PluginError) in
                try discovery(def)
            } : []
        try requireUnique(resolvers.map(\.name), .resolver)
        try requireUnique(balancers.map(\.name), .balancer)
        try requireUnique(discoveries.map(\.name), .discovery)
        return LoadedPlugin(
            file: file, generation: generation, name: name, version: version, abiMajor: major, abiMinor: minor,
            resolvers: resolvers, balancers: balancers, discoveries: discoveries, context: context)
    }

    private func resolver(_ def: UnsafePointer<sy_resolver_def>, plugin: String) throws(PluginError) -> ResolverDefinition {
        try requireSize(Int(def.pointee.struct_size), minimum: SY_RESOLVER_DEF_SIZE_1_0, "sy_resolver_def")
        let name = try string(def.pointee.name, "resolver name", limit: Int(SY_NAME_MAX), isName: true)
        let summary = try def.pointee.summary.map { p throws(PluginError) in try string(p, "summary of resolver '\(name)'", limit: Int(SY_SUMMARY_MAX), isName: false) } ?? ""
        guard def.pointee.create != nil else { throw PluginError(file: file, .missingHook(kind: .resolver, name: name, hook: "create")) }
        guard def.pointee.destroy != nil else { throw PluginError(file: file, .missingHook(kind: .resolver, name: name, hook: "destroy")) }
        guard def.pointee.resolve_service != nil || def.pointee.resolve_endpoint != nil else {
            throw PluginError(file: file, .missingHook(kind: .resolver, name: name, hook: "resolve_service or resolve_endpoint"))
        }
        return ResolverDefinition(def: def, name: name, summary: summary, context: context)
    }

    private func balancer(_ def: UnsafePointer<sy_balancer_def>, plugin: String, abiMinor: Int) throws(PluginError) -> BalancerDefinition {
        try requireSize(Int(def.pointee.struct_size), minimum: SY_BALANCER_DEF_SIZE_1_0, "sy_balancer_def")
        let name = try string(def.pointee.name, "balancer name", limit: Int(SY_NAME_MAX), isName: true)
        let summary = try def.pointee.summary.map { p throws(PluginError) in try string(p, "summary of balancer '\(name)'", limit: Int(SY_SUMMARY_MAX), isName: false) } ?? ""
        for (hook, present) in [("create", def.pointee.create != nil), ("destroy", def.pointee.destroy != nil), ("update", def.pointee.update != nil), ("pick", def.pointee.pick != nil)]
        where !present {
            throw PluginError(file: file, .missingHook(kind: .balancer, name: name, hook: hook))
        }
        return BalancerDefinition(def: def, name: name, summary: summary, context: context, abiMinor: abiMinor)
    }

    private func discovery(_ def: UnsafePointer<sy_discovery_def>) throws(PluginError) -> DiscoveryDefinition {
        try requireSize(Int(def.pointee.struct_size), minimum: SY_DISCOVERY_DEF_SIZE_1_2, "sy_discovery_def")
        let name = try string(def.pointee.name, "discovery name", limit: Int(SY_NAME_MAX), isName: true)
        let summary = try def.pointee.summary.map { p throws(PluginError) in try string(p, "summary of discovery '\(name)'", limit: Int(SY_SUMMARY_MAX), isName: false) } ?? ""
        for (hook, present) in [("create", def.pointee.create != nil), ("start", def.pointee.start != nil), ("destroy", def.pointee.destroy != nil)]
        where !present {
            throw PluginError(file: file, .missingHook(kind: .discovery, name: name, hook: hook))
        }
        return DiscoveryDefinition(def: def, name: name, summary: summary, context: context)
    }

    /// Refuses a struct smaller than its ABI 1.0 size (`SY_<STRUCT>_SIZE_1_0`). Minor versions
    /// only append, so a 1.0 plugin is never refused by a later host, and a struct this big holds
    /// every 1.0 field; a field a later minor adds is read only when struct_size covers it.
    private func requireSize(_ size: Int, minimum: Int32, _ structName: String) throws(PluginError) {
        let required = Int(minimum)
        guard size >= required else {
            throw PluginError(file: file, .structTooSmall(structName: structName, size: size, required: required))
        }
    }

    private func table<T>(_ base: UnsafePointer<UnsafePointer<T>?>?, count: UInt32, _ what: String) throws(PluginError) -> [UnsafePointer<T>] {
        guard count > 0 else { return [] }
        guard count <= 1024 else { throw PluginError(file: file, .malformed("\(count) \(what) is more than 1024")) }
        guard let base else { throw PluginError(file: file, .malformed("\(what) table is NULL but its count is \(count)")) }
        return try (0..<Int(count)).map { i throws(PluginError) in
            guard let def = base[i] else { throw PluginError(file: file, .malformed("\(what)[\(i)] is NULL")) }
            return def
        }
    }

    private func string(_ pointer: UnsafePointer<CChar>?, _ what: String, limit: Int, isName: Bool) throws(PluginError) -> String {
        guard let pointer else { throw PluginError(file: file, .malformed("\(what) is NULL")) }
        let length = strnlen(pointer, limit + 1)
        guard length <= limit else { throw PluginError(file: file, .malformed("\(what) is longer than \(limit) bytes")) }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw PluginError(file: file, .malformed("\(what) is not UTF-8")) }
        if isName {
            let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-".utf8)
            guard let first = text.utf8.first, first != UInt8(ascii: "."), first != UInt8(ascii: "-"), first != UInt8(ascii: "_"),
                text.utf8.allSatisfy(allowed.contains)
            else {
                throw PluginError(file: file, .malformed("\(what) '\(text)' must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"))
            }
        } else if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw PluginError(file: file, .malformed("\(what) contains control characters"))
        }
        return text
    }

    private func requireUnique(_ names: [String], _ kind: ImplementationKind) throws(PluginError) {
        var seen = Set<String>()
        for name in names where !seen.insert(name).inserted {
            throw PluginError(file: file, .duplicateImplementation(kind: kind, name: name, plugin: context.name, loadedFrom: file))
        }
    }
}
