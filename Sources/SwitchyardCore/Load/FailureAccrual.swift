/// The consecutive-failures breaker of one endpoint (DESIGN.md §5), as a pure state machine:
/// callers pass monotonic time and a random source, so every transition is testable.
///
/// Closed: requests flow; `maxFailures` consecutive failures trip it. Open: the endpoint is out
/// of the ready set for `minPenalty·2ⁿ` (capped at `maxPenalty`) plus jitter uniform in
/// `[0, base·jitter]`. When the penalty ends exactly one request is admitted as a probe:
/// success closes the breaker and resets the count; failure opens it again with the next,
/// longer penalty.
public struct FailureAccrual: Sendable {
    /// Where the breaker stands.
    public enum State: Hashable, Sendable {
        /// Requests flow; `failures` consecutive failures so far.
        case closed(failures: Int)
        /// Out of rotation until `until` (monotonic ns); `trips` penalties served so far.
        case open(until: UInt64, trips: Int)
        /// The penalty is over and one probe is in flight.
        case probing(trips: Int)
    }

    /// What `admit` says about one request.
    public enum Admission: Hashable, Sendable {
        /// Send it.
        case admitted
        /// Send it: it is the probe.
        case probe
        /// Do not send it here.
        case refused
    }

    /// A change worth telling the world about.
    public enum Transition: Hashable, Sendable {
        /// The breaker opened (again) for `penaltyNanoseconds`.
        case tripped(penaltyNanoseconds: UInt64)
        /// A probe succeeded: the breaker closed.
        case reopened
    }

    /// The parameters.
    public let policy: FailureAccrualPolicy
    /// The current state.
    public private(set) var state = State.closed(failures: 0)

    /// A closed breaker with `policy`.
    public init(policy: FailureAccrualPolicy) {
        self.policy = policy
    }

    /// Whether a balancer may pick the endpoint at `now` (closed, or its penalty is over and
    /// the probe is still free).
    public func isReady(now: UInt64) -> Bool {
        switch state {
        case .closed: true
        case .open(let until, _): now >= until
        case .probing: false
        }
    }

    /// Decides one request at `now`; the first request after a penalty becomes the probe.
    public mutating func admit(now: UInt64) -> Admission {
        switch state {
        case .closed: return .admitted
        case .open(let until, let trips):
            guard now >= until else { return .refused }
            state = .probing(trips: trips)
            return .probe
        case .probing: return .refused
        }
    }

    /// Records the outcome of a request; returns the transition it caused, if any. Outcomes
    /// of requests sent before a trip (arriving while open) are ignored.
    public mutating func record(failure: Bool, now: UInt64, random: inout some RandomNumberGenerator) -> Transition? {
        switch state {
        case .closed(let failures):
            guard failure else {
                if failures != 0 { state = .closed(failures: 0) }
                return nil
            }
            guard failures + 1 >= policy.maxFailures else {
                state = .closed(failures: failures + 1)
                return nil
            }
            return trip(trips: 0, now: now, random: &random)
        case .probing(let trips):
            guard failure else {
                state = .closed(failures: 0)
                return .reopened
            }
            return trip(trips: trips, now: now, random: &random)
        case .open:
            return nil
        }
    }

    /// The probe ended without an outcome (its client went away): the next request may probe.
    public mutating func releaseProbe(now: UInt64) {
        if case .probing(let trips) = state { state = .open(until: now, trips: trips) }
    }

    private mutating func trip(trips: Int, now: UInt64, random: inout some RandomNumberGenerator) -> Transition {
        let penalty = penaltyNanoseconds(trips: trips, jitterDraw: Double.random(in: 0...1, using: &random))
        state = .open(until: now &+ penalty, trips: trips + 1)
        return .tripped(penaltyNanoseconds: penalty)
    }

    /// The penalty after `trips` earlier penalties: `min(minPenalty·2^trips, maxPenalty)`,
    /// plus `jitterDraw` (0-1) of `base·jitter`.
    public func penaltyNanoseconds(trips: Int, jitterDraw: Double) -> UInt64 {
        let minimum = Double(policy.minPenalty.nanoseconds)
        let maximum = Double(policy.maxPenalty.nanoseconds)
        let base = min(minimum * Double(1 << min(trips, 62)), maximum)
        return UInt64(base + base * policy.jitter * jitterDraw)
    }
}
