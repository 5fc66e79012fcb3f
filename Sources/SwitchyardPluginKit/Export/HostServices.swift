import SwitchyardABI
import Synchronization

/// The host's services, as a plugin sees them: logging through the proxy's logger and
/// cryptographically seeded randomness. Usable from any thread once the host has loaded the
/// plugin; before that (in a unit test without a host) log lines are dropped.
public enum HostServices {
    /// Log levels, the same ladder as swift-log.
    public enum LogLevel: Int32, Sendable {
        case trace, debug, info, notice, warning, error, critical
    }

    /// Writes `message` to the proxy's log at `level`, tagged with this plugin's name.
    public static func log(_ level: LogLevel, _ message: String) {
        guard let host = table else { return }
        withSyStrs([message]) { host.pointee.log(host.pointee.context, level.rawValue, $0[0]) }
    }

    /// 64 random bits from the host (the system generator when there is no host).
    public static func random() -> UInt64 {
        guard let host = table else { return UInt64.random(in: .min ... .max) }
        return host.pointee.random(host.pointee.context)
    }

    /// The host's table, set once by the entry function.
    static var table: UnsafePointer<sy_host_services>? {
        exportState.withLock { $0.host?.pointer }
    }
}

/// What the entry function set up: the host's services and the descriptor returned to it.
struct ExportState: Sendable {
    var host: SendablePointer<sy_host_services>?
    var descriptor: SendablePointer<sy_plugin_descriptor>?
}

let exportState = Mutex(ExportState())
