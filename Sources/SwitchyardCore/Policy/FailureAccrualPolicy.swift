/// Parameters of the consecutive-failures breaker (DESIGN.md §5).
public struct FailureAccrualPolicy: Hashable, Sendable {
    /// Consecutive failures that trip the breaker.
    public var maxFailures = 7
    /// First penalty.
    public var minPenalty = Duration.seconds(1)
    /// Longest penalty.
    public var maxPenalty = Duration.seconds(60)
    /// Extra penalty, uniform in `[0, base × jitter]`.
    public var jitter = 0.5

    /// The defaults: 7 failures, 1 s to 60 s, jitter 0.5.
    public init() {}
}
