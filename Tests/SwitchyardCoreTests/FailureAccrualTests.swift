import SwitchyardCore
import Testing

@Suite("Failure accrual")
struct FailureAccrualTests {
    let second: UInt64 = 1_000_000_000

    func breaker(maxFailures: Int = 3, jitter: Double = 0) -> FailureAccrual {
        var policy = FailureAccrualPolicy()
        policy.maxFailures = maxFailures
        policy.minPenalty = .seconds(1)
        policy.maxPenalty = .seconds(5)
        policy.jitter = jitter
        return FailureAccrual(policy: policy)
    }

    @Test("maxFailures consecutive failures trip it; a success in between resets the count")
    func trips() {
        var b = breaker()
        var random = Xoshiro256(seed: 1)
        #expect(b.record(failure: true, now: 0, random: &random) == nil)
        #expect(b.record(failure: false, now: 0, random: &random) == nil)
        #expect(b.record(failure: true, now: 0, random: &random) == nil)
        #expect(b.record(failure: true, now: 0, random: &random) == nil)
        #expect(b.record(failure: true, now: 0, random: &random) == .tripped(penaltyNanoseconds: second))
        #expect(!b.isReady(now: second - 1))
        #expect(b.admit(now: second - 1) == .refused)
    }

    @Test("after the penalty exactly one probe is admitted; success reopens")
    func probeSuccess() {
        var b = breaker(maxFailures: 1)
        var random = Xoshiro256(seed: 1)
        _ = b.record(failure: true, now: 0, random: &random)
        #expect(b.isReady(now: second))
        #expect(b.admit(now: second) == .probe)
        #expect(!b.isReady(now: second))
        #expect(b.admit(now: second) == .refused)
        #expect(b.record(failure: false, now: second, random: &random) == .reopened)
        #expect(b.state == .closed(failures: 0))
        #expect(b.admit(now: second) == .admitted)
    }

    @Test("a failed probe opens it again with a doubled penalty, capped at maxPenalty")
    func probeFailure() {
        var b = breaker(maxFailures: 1)
        var random = Xoshiro256(seed: 1)
        var now: UInt64 = 0
        var penalties: [UInt64] = []
        if case .tripped(let p)? = b.record(failure: true, now: now, random: &random) { penalties.append(p) }
        for _ in 0..<4 {
            now += penalties.last!
            #expect(b.admit(now: now) == .probe)
            if case .tripped(let p)? = b.record(failure: true, now: now, random: &random) { penalties.append(p) }
        }
        #expect(penalties == [1, 2, 4, 5, 5].map { $0 * second })
    }

    @Test("jitter adds up to base·jitter; late outcomes while open are ignored")
    func jitterAndLateOutcomes() {
        let b = breaker(jitter: 0.5)
        #expect(b.penaltyNanoseconds(trips: 1, jitterDraw: 0) == 2 * second)
        #expect(b.penaltyNanoseconds(trips: 1, jitterDraw: 1) == 3 * second)
        var open = breaker(maxFailures: 1)
        var random = Xoshiro256(seed: 9)
        _ = open.record(failure: true, now: 0, random: &random)
        let state = open.state
        #expect(open.record(failure: false, now: 1, random: &random) == nil)
        #expect(open.state == state)
    }
}
