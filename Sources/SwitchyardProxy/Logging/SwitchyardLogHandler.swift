import Logging
import SwitchyardCore

#if canImport(Glibc)
import Glibc
#endif

/// How log lines are written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-11-26T15:04:05.123Z  INFO service{ns=prod name=web port=80}:endpoint{addr=127.0.0.1:18081}: switchyard::breaker: message key=value`
    case plain
    /// One JSON object per line with the same fields: `timestamp`, `level`, `spans`, `target`,
    /// `message`, `fields`.
    case json
}

/// The proxy's swift-log handler (DESIGN.md §9): one line per event to standard error, with
/// where it happened (spans) most general first, then the target and the message. The level
/// comes from the shared ``LogLevelControl``, so an operator's change reaches every logger.
public struct SwitchyardLogHandler: LogHandler {
    private let label: String
    private let format: LogFormat
    private let control: LogLevelControl
    /// Metadata of this logger.
    public var metadata: Logger.Metadata = [:]

    /// A handler for the logger labelled `label` (the default target).
    public init(label: String, format: LogFormat, control: LogLevelControl) {
        self.label = label
        self.format = format
        self.control = control
    }

    /// The process-wide level; setting it changes every logger's.
    public var logLevel: Logger.Level {
        get { control.level }
        set { control.level = newValue }
    }

    /// One metadata value.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line (a single `write`, so lines from different threads never interleave).
    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let spans = merged.removeValue(forKey: LogSpan.metadataKey).flatMap(LogSpans.init(metadata:))?.spans ?? []
        let target = merged.removeValue(forKey: Logger.targetKey).map { "\($0)" } ?? label
        let fields = merged.sorted { $0.key < $1.key }
        let line: String
        switch format {
        case .plain:
            line = Self.plainLine(level: event.level, spans: spans, target: target, message: "\(event.message)", fields: fields)
        case .json:
            line = Self.jsonLine(level: event.level, spans: spans, target: target, message: "\(event.message)", fields: fields)
        }
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        bytes.withUnsafeBytes { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    static func plainLine(level: Logger.Level, spans: [LogSpan], target: String, message: String, fields: [(key: String, value: Logger.MetadataValue)]) -> String {
        var line = timestamp() + " " + levelText(level) + " "
        if !spans.isEmpty { line += LogSpans(spans: spans).description + ": " }
        line += target + ": " + message
        for (key, value) in fields { line += " \(key)=\(value)" }
        return line
    }

    static func jsonLine(level: Logger.Level, spans: [LogSpan], target: String, message: String, fields: [(key: String, value: Logger.MetadataValue)]) -> String {
        let spanObjects: [JSONValue] = spans.map { span in
            .object([("span", .string(span.name))] + span.fields.map { ($0.key, .string($0.value)) })
        }
        let object: JSONValue = .object([
            ("timestamp", .string(timestamp())),
            ("level", .string(levelText(level).trimmingCharacters(in: [" "]))),
            ("spans", .array(spanObjects)),
            ("target", .string(target)),
            ("message", .string(message)),
            ("fields", .object(fields.map { ($0.key, .string("\($0.value)")) })),
        ])
        return object.description
    }

    /// The level, right-aligned in five columns as tracing prints it (` INFO`, `ERROR`).
    static func levelText(_ level: Logger.Level) -> String {
        let text =
            switch level {
            case .trace: "TRACE"
            case .debug: "DEBUG"
            case .info: "INFO"
            case .notice: "NOTICE"
            case .warning: "WARN"
            case .error: "ERROR"
            case .critical: "CRITICAL"
            }
        return String(repeating: " ", count: max(0, 5 - text.count)) + text
    }

    /// Now, in UTC, to the millisecond: `2026-11-26T15:04:05.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let millis = Int(now.tv_nsec / 1_000_000)
        let millisText = millis < 10 ? "00\(millis)" : millis < 100 ? "0\(millis)" : "\(millis)"
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)).\(millisText)Z"
    }
}
