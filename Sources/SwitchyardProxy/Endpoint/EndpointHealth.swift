import Logging
import NIOCore
import SwitchyardCore
import Synchronization

/// The failure-accrual breaker of one endpoint, shared by every event loop (an operator's
/// "7 consecutive failures" count every request, whichever loop sent it).
///
/// Only endpoints of backends with failure accrual have one. Each loop's runtime of the
/// endpoint registers itself; a transition reaches every loop's balancer through its event
/// loop, so the balancers themselves stay lock-free.
final class EndpointHealth: Sendable {
    /// The breaker and the generator for its jitter, behind one lock.
    private let accrual: Mutex<(breaker: FailureAccrual, random: Xoshiro256)>
    private let replicas = Mutex<[(id: ObjectIdentifier, runtime: NIOLoopBound<EndpointRuntime>)]>([])
    /// The series its transitions count in (a reload hands it the next table's).
    private let metricsBox: Mutex<BreakerMetrics>
    private let logger: Logger
    /// Its parameters.
    let policy: FailureAccrualPolicy
    /// The clock penalties run on (injected: tests run it virtually).
    private let clock: @Sendable () -> NIODeadline

    /// Where its transitions are told (the admin port's `/state`), and how they are named there.
    private let events: BreakerEvents
    private let backendName: String
    private let address: String

    init(
        policy: FailureAccrualPolicy, metrics: BreakerMetrics, clock: @escaping @Sendable () -> NIODeadline, events: BreakerEvents, backend: String,
        address: String, logger: Logger
    ) {
        self.clock = clock
        self.events = events
        self.backendName = backend
        self.address = address
        self.accrual = Mutex((FailureAccrual(policy: policy), Xoshiro256(seed: UInt64.random(in: .min ... .max))))
        self.metricsBox = Mutex(metrics)
        self.logger = logger
        self.policy = policy
    }

    private var metrics: BreakerMetrics { metricsBox.withLock { $0 } }

    /// The breaker's state for the dashboard: `ready` (closed), `pending` (tripped, sitting out
    /// its penalty) or `probing` (its probe is in flight).
    var stateName: String {
        accrual.withLock { accrual in
            switch accrual.breaker.state {
            case .closed: "ready"
            case .open: "pending"
            case .probing: "probing"
            }
        }
    }

    /// Whether a balancer may pick the endpoint now (closed, or its penalty is over).
    var isReady: Bool { accrual.withLock { $0.breaker.isReady(now: clock().uptimeNanoseconds) } }

    /// Carries the breaker into a reloaded table that keeps the endpoint: its transitions
    /// count in `metrics` from now on, where an endpoint out of rotation shows as pending.
    func carry(into metrics: BreakerMetrics) {
        let pending = accrual.withLock { if case .closed = $0.breaker.state { false } else { true } }
        metricsBox.withLock { $0 = metrics }
        if pending { metrics.didCarryPending() }
    }

    /// Registers one loop's runtime of the endpoint (called on that loop).
    func register(_ endpoint: EndpointRuntime) {
        let bound = NIOLoopBound(endpoint, eventLoop: endpoint.eventLoop)
        replicas.withLock { $0.append((ObjectIdentifier(endpoint), bound)) }
    }

    /// Forgets one loop's runtime (its table was replaced).
    func unregister(_ endpoint: EndpointRuntime) {
        replicas.withLock { $0.removeAll { $0.id == ObjectIdentifier(endpoint) } }
    }

    /// Whether `endpoint`'s loop may send it a request now; the first request after a
    /// penalty is the probe, and every loop stops picking the endpoint until it answers.
    func admit() -> FailureAccrual.Admission {
        let now = clock().uptimeNanoseconds
        let admission = accrual.withLock { $0.breaker.admit(now: now) }
        if admission == .probe {
            metrics.didProbe()
            events.record(backend: backendName, endpoint: address, transition: "probing")
            broadcast(ready: false)
        }
        return admission
    }

    /// Records a request's outcome; trips or reopens the breaker when it should.
    func record(failure: Bool) {
        let now = clock().uptimeNanoseconds
        let (transition, wasClosed) = accrual.withLock { accrual in
            let wasClosed = if case .closed = accrual.breaker.state { true } else { false }
            return (accrual.breaker.record(failure: failure, now: now, random: &accrual.random), wasClosed)
        }
        switch transition {
        case .tripped(let penalty)?:
            metrics.didTrip(wasReady: wasClosed)
            events.record(backend: backendName, endpoint: address, transition: "tripped")
            logger.info("Consecutive failure-accrual breaker tripped", metadata: ["penalty": "\(DurationText.format(.nanoseconds(Int64(penalty))))"])
            broadcast(ready: false)
            scheduleProbe(after: penalty)
        case .reopened?:
            metrics.didReopen()
            events.record(backend: backendName, endpoint: address, transition: "reopened")
            logger.info("Consecutive failure-accrual breaker reopened")
            broadcast(ready: true)
        case nil:
            break
        }
    }

    /// The probe's client went away before an outcome: let the next request probe.
    func releaseProbe() {
        accrual.withLock { $0.breaker.releaseProbe(now: clock().uptimeNanoseconds) }
        broadcast(ready: true)
    }

    private func scheduleProbe(after penalty: UInt64) {
        guard let first = replicas.withLock({ $0.first?.runtime }) else { return }
        first.eventLoop.scheduleTask(in: .nanoseconds(Int64(clamping: penalty))) { [self] in
            let ready = accrual.withLock { $0.breaker.isReady(now: clock().uptimeNanoseconds) }
            if ready { broadcast(ready: true) }
        }
    }

    private func broadcast(ready: Bool) {
        for (_, replica) in replicas.withLock({ $0 }) {
            if replica.eventLoop.inEventLoop {
                replica.value.setReady(ready)
            } else {
                replica.eventLoop.execute { replica.value.setReady(ready) }
            }
        }
    }
}
