/// A small, fast, seedable random generator (xoshiro256**) for per-event-loop use on the
/// request path: no locks, no system calls, and equal seeds give equal sequences, so tests of
/// random distributions are exact.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// Seeds the state from one 64-bit value through SplitMix64, as the authors recommend.
    public init(seed: UInt64) {
        var x = seed
        func next() -> UInt64 {
            x &+= 0x9e37_79b9_7f4a_7c15
            return StableHash.mix(x &- 0x9e37_79b9_7f4a_7c15)
        }
        s0 = next()
        s1 = next()
        s2 = next()
        s3 = next()
    }

    /// The next 64 random bits.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// A uniform integer in `0..<bound` by Lemire's multiply-shift, without the rejection
    /// step: the bias is at most bound / 2⁶⁴, far beneath what a balancer can observe.
    /// `bound` must be > 0.
    @inlinable
    public mutating func next(below bound: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}
