import Logging
import Synchronization

/// The operator's log level: one for the whole process, read by every ``SwitchyardLogHandler``
/// on each line and changed at run time through the admin port's `/log-level`.
public final class LogLevelControl: Sendable {
    private let raw: Atomic<Int>

    /// Creates the control at `level`.
    public init(_ level: Logger.Level) {
        raw = Atomic(Self.levels.firstIndex(of: level)!)
    }

    private static let levels = Logger.Level.allCases

    /// The current level.
    public var level: Logger.Level {
        get { Self.levels[raw.load(ordering: .relaxed)] }
        set { raw.store(Self.levels.firstIndex(of: newValue)!, ordering: .relaxed) }
    }

    /// Parses a level name (`trace` ... `critical`, any case; `warn` for `warning`).
    public static func parse(_ text: String) -> Logger.Level? {
        let name = text.trimmingCharacters(in: [" ", "\n", "\r", "\t"]).lowercased()
        return name == "warn" ? .warning : Logger.Level(rawValue: name)
    }
}
