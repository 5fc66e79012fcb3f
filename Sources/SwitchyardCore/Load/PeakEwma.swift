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

    /// Starts at `defaultRtt` at time `now`.
    public init(defaultRtt: Duration, decay: Duration, now: UInt64) {
        self.decayNanoseconds = Double(max(decay.nanoseconds, 1))
        self.estimateNanoseconds = Double(max(defaultRtt.nanoseconds, 0))
        self.stampNanoseconds = now
    }

    /// Folds in an RTT sample `rtt` (nanoseconds) observed at `now`.
    public mutating func observe(rttNanoseconds rtt: UInt64, now: UInt64) {
        let sample = Double(rtt)
        if sample > estimateNanoseconds {
            estimateNanoseconds = sample
        } else {
            let elapsed = Double(now &- min(now, stampNanoseconds))
            let weight = exp(-elapsed / decayNanoseconds)
            estimateNanoseconds = estimateNanoseconds * weight + sample * (1 - weight)
        }
        stampNanoseconds = max(now, stampNanoseconds)
    }

    /// Lets time pull the estimate toward zero, as a sample of 0 would (tower's `PeakEwma`
    /// decays this way each time it reads a load). An endpoint with no samples, a new one that
    /// lost its first draws or a slow one the balancer avoids, is worth trying again after a
    /// few time constants instead of never.
    public mutating func decay(now: UInt64) {
        observe(rttNanoseconds: 0, now: now)
    }

    /// The balancing cost with `inFlight` requests outstanding.
    @inlinable
    public func cost(inFlight: Int) -> Double {
        estimateNanoseconds * Double(inFlight + 1)
    }
}
