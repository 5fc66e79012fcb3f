#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The peak-EWMA RTT estimate of one endpoint (DESIGN.md §5), as linkerd2-proxy and Finagle
/// keep it: a sample above the estimate replaces it at once (the *peak*), a sample below pulls
/// it down with an exponential decay weighted by the time since the last sample.
///
/// `cost = estimate × (inFlight + 1)`: an endpoint that is slow, or busy, or both costs more.
/// Times are monotonic nanoseconds supplied by the caller, so the type is pure and testable.
public struct PeakEwma: Sendable {
    /// The decay time constant, in nanoseconds.
    public let decayNanoseconds: Double
    /// The current RTT estimate, in nanoseconds.
    public private(set) var estimateNanoseconds: Double
    /// When the estimate last changed (monotonic nanoseconds).
    public private(set) var stampNanoseconds: UInt64
    /// Whether an RTT sample has come yet: until one does, the estimate is `defaultRtt`, a prior
    /// the first sample replaces (decay alone does not count as a sample).
    public private(set) var sampled = false

    /// Starts at `defaultRtt` at time `now`.
    public init(defaultRtt: Duration, decay: Duration, now: UInt64) {
        self.decayNanoseconds = Double(max(decay.nanoseconds, 1))
        self.estimateNanoseconds = Double(max(defaultRtt.nanoseconds, 0))
        self.stampNanoseconds = now
    }

    /// Folds in an RTT sample `rtt` (nanoseconds) observed at `now`. The first one replaces the
    /// default estimate, as a peak does: a measured 0.1 ms must not start as 29.9 ms because the
    /// sample came soon after the endpoint appeared.
    public mutating func observe(rttNanoseconds rtt: UInt64, now: UInt64) {
        if !sampled {
            sampled = true
            estimateNanoseconds = max(Double(rtt), 1)
            stampNanoseconds = max(now, stampNanoseconds)
            return
        }
        fold(rtt, now: now)
    }

    /// Lets time pull the estimate toward zero, as a sample of 0 would (tower's `PeakEwma`
    /// decays this way each time it reads a load). An endpoint nobody samples, a slow one the
    /// balancer avoids or one whose requests failed, is worth trying again after a few time
    /// constants instead of never.
    public mutating func decay(now: UInt64) {
        fold(0, now: now)
    }

    private mutating func fold(_ rtt: UInt64, now: UInt64) {
        let sample = Double(rtt)
        if sample > estimateNanoseconds {
            estimateNanoseconds = sample
        } else {
            let elapsed = Double(now &- min(now, stampNanoseconds))
            let weight = exp(-elapsed / decayNanoseconds)
            // Never exactly 0 (hours of decay underflow to it): a cost of 0 means "not tried".
            estimateNanoseconds = max(estimateNanoseconds * weight + sample * (1 - weight), 1)
        }
        stampNanoseconds = max(now, stampNanoseconds)
    }

    /// The balancing cost with `inFlight` requests outstanding.
    @inlinable
    public func cost(inFlight: Int) -> Double {
        estimateNanoseconds * Double(inFlight + 1)
    }
}
