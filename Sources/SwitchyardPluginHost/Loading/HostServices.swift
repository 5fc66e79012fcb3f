import Logging
import SwitchyardABI
import SwitchyardCore
import Synchronization

/// The ABI version this host speaks.
let hostABIMajor = Int(SY_ABI_MAJOR)
let hostABIMinor = Int(SY_ABI_MINOR)
/// The entry symbol of the ABI major this host speaks.
let entrySymbol = SY_ENTRY_SYMBOL_V1

/// What the host knows about one plugin while serving its calls: its name and logger. Lives as
/// long as the process, like the plugin itself.
public final class PluginContext: Sendable {
    /// The plugin file.
    public let file: String
    private let identity: Mutex<(name: String, logger: Logger)>

    init(file: String, logger: Logger) {
        self.file = file
        var logger = logger
        logger[metadataKey: "plugin"] = "\(file)"
        self.identity = Mutex((file, logger))
    }

    /// The plugin's name once its descriptor is read (its file until then).
    public var name: String { identity.withLock { $0.name } }

    var logger: Logger { identity.withLock { $0.logger } }

    func named(_ name: String) {
        identity.withLock {
            $0.name = name
            $0.logger[metadataKey: "plugin"] = "\(name)"
        }
    }

    /// The services table handed to the plugin's entry function. Never freed: the plugin may
    /// keep the pointer for the life of the process.
    func makeServicesTable() -> UnsafePointer<sy_host_services> {
        let table = UnsafeMutablePointer<sy_host_services>.allocate(capacity: 1)
        table.initialize(
            to: sy_host_services(
                struct_size: UInt32(MemoryLayout<sy_host_services>.size),
                abi_major: UInt16(hostABIMajor), abi_minor: UInt16(hostABIMinor),
                context: Unmanaged.passRetained(self).toOpaque(),
                log: { context, level, message in
                    let plugin = Unmanaged<PluginContext>.fromOpaque(context!).takeUnretainedValue()
                    let text = message.len > Int(SY_MESSAGE_MAX)
                        ? sy_str(ptr: message.ptr, len: Int(SY_MESSAGE_MAX)).string + "…" : message.string
                    plugin.logger.log(level: Logger.Level(abi: level), "\(text)")
                },
                random: { _ in UInt64.random(in: .min ... .max) },
                fail: { call, message in
                    CallState.from(call) { $0.fail(message) }
                },
                answer_meta: { call, meta in
                    CallState.from(call) { $0.answer(meta) }
                },
                discovery_publish: { sink, event in
                    DiscoverySink.publish(sink, event)
                }))
        return UnsafePointer(table)
    }
}

extension Logger.Level {
    /// The swift-log level of an ABI log level; out-of-range values clamp.
    init(abi level: sy_log_level) {
        switch level {
        case ...SY_LOG_TRACE: self = .trace
        case SY_LOG_DEBUG: self = .debug
        case SY_LOG_INFO: self = .info
        case SY_LOG_NOTICE: self = .notice
        case SY_LOG_WARNING: self = .warning
        case SY_LOG_ERROR: self = .error
        default: self = .critical
        }
    }
}

/// What one hook invocation delivered through `fail` and `answer_meta`. Lives on the calling
/// thread's stack; the `sy_call *` handed to the plugin points at it.
struct CallState {
    private(set) var failure: String?
    private(set) var answer: Result<Meta, MetaAnswerError>?
    private(set) var misuse: String?

    mutating func fail(_ message: sy_str) {
        if failure != nil { misuse = "fail() called twice in one hook" }
        if message.len > Int(SY_MESSAGE_MAX) { misuse = "fail() message longer than \(SY_MESSAGE_MAX) bytes" }
        failure = message.string
    }

    mutating func answer(_ meta: UnsafePointer<sy_meta>?) {
        if answer != nil { misuse = "answer_meta() called twice in one hook" }
        guard let meta else {
            answer = .failure(MetaAnswerError("answer_meta() given a NULL meta"))
            return
        }
        do {
            answer = .success(try Meta(validating: meta))
        } catch {
            answer = .failure(error)
        }
    }

    /// Runs `body` with a fresh state and the `sy_call *` pointing at it.
    static func run<R>(_ body: (OpaquePointer) throws -> R) rethrows -> (R, CallState) {
        var state = CallState()
        let result = try withUnsafeMutablePointer(to: &state) { try body(OpaquePointer($0)) }
        return (result, state)
    }

    /// Applies `body` to the state behind `call` (ignored when NULL: a plugin bug, answered safely).
    static func from(_ call: OpaquePointer?, _ body: (inout CallState) -> Void) {
        guard let call else { return }
        body(&UnsafeMutablePointer<CallState>(call).pointee)
    }
}
