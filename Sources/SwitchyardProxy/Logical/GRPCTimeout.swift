import SwitchyardCore

/// gRPC's `grpc-timeout` request header (gRPC over HTTP/2: `TimeoutValue TimeoutUnit`, at most
/// eight digits, units H M S m u n). The proxy honours it as the request's `request` timeout
/// when it is shorter than the route's.
enum GRPCTimeout {
    /// The duration `text` names, or nil when it is malformed (then it is ignored).
    static func parse(_ text: String) -> Duration? {
        let digits = text.dropLast()
        guard let unit = text.utf8.last, !digits.isEmpty, digits.count <= 8, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let value = Int64(digits)
        else { return nil }
        switch unit {
        case UInt8(ascii: "H"): return .seconds(value * 3600)
        case UInt8(ascii: "M"): return .seconds(value * 60)
        case UInt8(ascii: "S"): return .seconds(value)
        case UInt8(ascii: "m"): return .milliseconds(value)
        case UInt8(ascii: "u"): return .microseconds(value)
        case UInt8(ascii: "n"): return .nanoseconds(value)
        default: return nil
        }
    }

    /// `timeouts` with `request` shortened to the head's `grpc-timeout`, if it has one.
    static func applying(_ header: String?, to timeouts: RouteTimeouts) -> RouteTimeouts {
        guard let header, let deadline = parse(header) else { return timeouts }
        var timeouts = timeouts
        timeouts.request = min(timeouts.request ?? deadline, deadline)
        return timeouts
    }
}
