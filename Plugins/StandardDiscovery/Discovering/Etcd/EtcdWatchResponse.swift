import SwitchyardCore

/// One message of a `/v3/watch` stream: `{"result": WatchResponse}`, or the gateway's
/// `{"error": {...}}` when the stream fails.
struct EtcdWatchResponse: Equatable {
    /// The changes, in revision order.
    let events: [EtcdWatchEvent]
    /// Whether etcd canceled the watch.
    let canceled: Bool
    /// Why, when it says.
    let cancelReason: String
    /// When above 0, the watch's start revision was compacted and this is the oldest kept.
    let compactRevision: Int64

    /// Parses one line of the stream.
    /// - Throws: ``EtcdError`` for an error message or a malformed one.
    init(parsing line: ArraySlice<UInt8>) throws(EtcdError) {
        let message = try EtcdWire.parse(line, what: "watch response")
        if let error = EtcdWire.gatewayError(in: message) { throw EtcdError("etcd error: \(error)") }
        guard let result = try EtcdWire.member("result", of: message, in: "watch response") else {
            throw EtcdError("watch response has no result")
        }
        let what = "watch response result"
        var events: [EtcdWatchEvent] = []
        for (index, event) in try EtcdWire.array("events", of: result, in: what).enumerated() {
            events.append(try EtcdWire.event(event, in: "\(what).events[\(index)]"))
        }
        self.events = events
        canceled = try EtcdWire.bool("canceled", of: result, in: what)
        cancelReason = try EtcdWire.string("cancel_reason", of: result, in: what)
        compactRevision = try EtcdWire.int64("compact_revision", of: result, in: what)
    }
}
