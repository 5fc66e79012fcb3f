import SwitchyardABI
import Synchronization

/// Where one discovery instance's events go (`sy_discovery_sink *`): each published event is
/// copied and validated on the publishing thread, then handed to the host's handler. A bad
/// event is the plugin's fault: counted, refused, and the handler never sees it. Publishes are
/// serialized; after ``close()`` every publish is refused.
public final class DiscoverySink: Sendable {
    /// What the host does with a valid event (on the plugin's thread; must not block long):
    /// true when it took it, false when it refuses it (a fault, as a malformed event is).
    public typealias Handler = @Sendable (DiscoveryEvent) -> Bool

    private let handler: Handler
    private let faults: FaultRecord
    /// Open until the instance is destroyed; the lock also serializes publishes.
    private let open = Mutex(true)

    init(faults: FaultRecord, handler: @escaping Handler) {
        self.faults = faults
        self.handler = handler
    }

    /// The `sy_discovery_sink *` handed to the plugin's `start`.
    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// Validates and delivers `event`; SY_OK when taken, SY_ERROR (a fault) when refused.
    func publish(_ event: UnsafePointer<sy_discovery_event>?) -> sy_status {
        open.withLock { open in
            guard open else {
                faults.record("discovery_publish called after destroy")
                return SY_ERROR
            }
            do throws(DiscoveryEventReader.Refusal) {
                guard handler(try DiscoveryEventReader.read(event)) else {
                    throw DiscoveryEventReader.Refusal("the backend's set cannot take it (see the host's log)")
                }
                return SY_OK
            } catch {
                faults.record("discovery event refused (the backend keeps its last good set): \(error.reason)")
                return SY_ERROR
            }
        }
    }

    /// No more events: the instance is being destroyed.
    func close() { open.withLock { $0 = false } }

    /// The host services entry point: the sink behind `handle`.
    static func publish(_ handle: OpaquePointer?, _ event: UnsafePointer<sy_discovery_event>?) -> sy_status {
        guard let handle else { return SY_ERROR }
        return Unmanaged<DiscoverySink>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue().publish(event)
    }
}
