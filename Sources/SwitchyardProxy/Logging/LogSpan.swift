import Logging
import SwitchyardCore

/// Where a log line happened, most general first: `service{ns=prod name=web port=80}` then
/// `endpoint{addr=127.0.0.1:18081}` (DESIGN.md §9). A logger carries its spans in its metadata
/// under ``LogSpan/metadataKey``; ``SwitchyardLogHandler`` renders them before the target.
public struct LogSpan: Sendable, Hashable {
    /// The span's name: `service`, `endpoint`, ...
    public let name: String
    /// Its fields, in the order they are printed.
    public let fields: [Field]

    /// One `key=value` of a span.
    public struct Field: Sendable, Hashable {
        /// The key.
        public let key: String
        /// The value.
        public let value: String
    }

    /// The metadata key spans travel under.
    public static let metadataKey = "spans"

    /// Creates a span.
    public init(_ name: String, _ fields: KeyValuePairs<String, String>) {
        self.name = name
        self.fields = fields.map { Field(key: $0.key, value: $0.value) }
    }

    /// A service: its namespace, name and port (an absent port prints empty).
    static func service(_ meta: Meta) -> LogSpan {
        LogSpan("service", ["ns": meta.namespace, "name": meta.name, "port": meta.port.map(String.init) ?? ""])
    }

    /// An endpoint by its address.
    static func endpoint(_ address: Authority) -> LogSpan {
        LogSpan("endpoint", ["addr": address.description])
    }
}

/// The spans of a logger, most general first; renders as `a{..}:b{..}`.
struct LogSpans: CustomStringConvertible, Sendable {
    var spans: [LogSpan]

    var description: String {
        spans.map { span in
            "\(span.name){" + span.fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "}"
        }.joined(separator: ":")
    }
}

extension Logger {
    /// The metadata key a line's target travels under (`switchyard::breaker`); without it the
    /// target is the logger's label.
    static let targetKey = "target"

    /// This logger inside `span` (appended after the spans it already has).
    func entering(_ span: LogSpan) -> Logger {
        var logger = self
        var spans = (self[metadataKey: LogSpan.metadataKey]).flatMap(LogSpans.init(metadata:)) ?? LogSpans(spans: [])
        spans.spans.append(span)
        logger[metadataKey: LogSpan.metadataKey] = .stringConvertible(spans)
        return logger
    }

    /// This logger, writing lines for `target` (`switchyard::breaker`).
    func targeting(_ target: String) -> Logger {
        var logger = self
        logger[metadataKey: Self.targetKey] = .string(target)
        return logger
    }
}

extension LogSpans {
    /// The spans a metadata value carries, if it carries spans.
    init?(metadata value: Logger.MetadataValue) {
        guard case .stringConvertible(let convertible) = value, let spans = convertible as? LogSpans else { return nil }
        self = spans
    }
}
