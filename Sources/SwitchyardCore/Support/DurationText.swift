/// Durations as config writes them: an integer or decimal number and a unit, e.g. `250ms`,
/// `3s`, `1.5s`, `1m`. Units: `ns`, `us`, `ms`, `s`, `m`, `h`.
public enum DurationText {
    /// Parses `text`, or returns nil when it is not a duration.
    public static func parse(_ text: String) -> Duration? {
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("ns", 1), ("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        // Longest suffix first, so "ms" is not read as "s".
        for unit in units.sorted(by: { $0.suffix.count > $1.suffix.count }) where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
                let value = Double(number), value.isFinite
            else { return nil }
            let nanoseconds = value * unit.nanoseconds
            guard nanoseconds < Double(Int64.max) else { return nil }
            return .nanoseconds(Int64(nanoseconds.rounded()))
        }
        return nil
    }

    /// The shortest exact form: `30ms`, `10s`, `1m`, `1500us`.
    public static func format(_ duration: Duration) -> String {
        let ns = duration.nanoseconds
        for (suffix, size) in [("h", Int64(3600e9)), ("m", Int64(60e9)), ("s", Int64(1e9)), ("ms", Int64(1e6)), ("us", Int64(1e3))]
        where ns != 0 && ns % size == 0 {
            return "\(ns / size)\(suffix)"
        }
        return "\(ns)ns"
    }
}

extension Duration {
    /// This duration in whole nanoseconds (saturating).
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000).overflow
            ? .max : scaled + attoseconds / 1_000_000_000
    }
}
