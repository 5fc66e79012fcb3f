import SwitchyardCore
import Synchronization

/// The last breaker transitions of every endpoint, newest last, for the admin port's `/state`
/// (the dashboard shows them as they happen). Bounded: the oldest fall off past ``limit``.
final class BreakerEvents: Sendable {
    /// One transition.
    struct Event: Sendable {
        /// UTC, to the millisecond.
        let time: String
        /// The backend (`group/kind/namespace/name:port`) and the endpoint's address.
        let backend: String
        let endpoint: String
        /// `tripped`, `probing` or `reopened` (the metric's `transition` label).
        let transition: String
    }

    /// How many events are kept.
    static let limit = 100
    private let events = Mutex<[Event]>([])

    func record(backend: String, endpoint: String, transition: String) {
        let event = Event(time: SwitchyardLogHandler.timestamp(), backend: backend, endpoint: endpoint, transition: transition)
        events.withLock { events in
            if events.count >= Self.limit { events.removeFirst(events.count - Self.limit + 1) }
            events.append(event)
        }
    }

    /// The events kept, oldest first.
    var all: [Event] { events.withLock { $0 } }
}
