import SwitchyardCore
import Testing

@Suite("Peak-EWMA")
struct PeakEwmaTests {
    let second: UInt64 = 1_000_000_000

    @Test("starts at the default RTT; cost = estimate × (in-flight + 1)")
    func initialCost() {
        let ewma = PeakEwma(defaultRtt: .milliseconds(30), decay: .seconds(10), now: 0)
        #expect(ewma.estimateNanoseconds == 30_000_000)
        #expect(ewma.cost(inFlight: 0) == 30_000_000)
        #expect(ewma.cost(inFlight: 3) == 120_000_000)
    }

    @Test("the first sample replaces the default estimate, above or below it")
    func firstSample() {
        var fast = PeakEwma(defaultRtt: .milliseconds(30), decay: .seconds(10), now: 0)
        fast.observe(rttNanoseconds: 100_000, now: 1)  // a moment later: still the sample, not 29.9 ms
        #expect(fast.sampled && fast.estimateNanoseconds == 100_000)
        var slow = PeakEwma(defaultRtt: .milliseconds(30), decay: .seconds(10), now: 0)
        slow.observe(rttNanoseconds: 500_000_000, now: 1)
        #expect(slow.estimateNanoseconds == 500_000_000)
    }

    /// A PeakEwma whose estimate is `rtt`, sampled at time `now`.
    func sampled(_ rtt: UInt64, decay: Duration, now: UInt64) -> PeakEwma {
        var ewma = PeakEwma(defaultRtt: .milliseconds(30), decay: decay, now: now)
        ewma.observe(rttNanoseconds: rtt, now: now)
        return ewma
    }

    @Test("a later sample above the estimate replaces it at once")
    func peak() {
        var ewma = sampled(1_000_000, decay: .seconds(10), now: 0)
        ewma.observe(rttNanoseconds: 500_000_000, now: 1)
        #expect(ewma.estimateNanoseconds == 500_000_000)
    }

    @Test("a later sample below decays toward it with weight exp(-elapsed/decay)")
    func decay() {
        var ewma = sampled(100_000_000, decay: .seconds(10), now: 0)
        ewma.observe(rttNanoseconds: 0, now: 10 * second)  // one time constant: e⁻¹ of the old estimate stays
        #expect(abs(ewma.estimateNanoseconds - 100_000_000 * 0.36787944117144233) < 1)
        var instant = sampled(100_000_000, decay: .seconds(10), now: 5)
        instant.observe(rttNanoseconds: 10_000_000, now: 5)  // no time passed: the estimate holds
        #expect(instant.estimateNanoseconds == 100_000_000)
        var long = sampled(100_000_000, decay: .seconds(1), now: 0)
        long.observe(rttNanoseconds: 10_000_000, now: 100 * second)  // long ago: the sample wins
        #expect(abs(long.estimateNanoseconds - 10_000_000) < 1)
    }

    @Test("time alone pulls the estimate toward zero, and the next sample folds in from there")
    func decayWithoutSamples() {
        var ewma = PeakEwma(defaultRtt: .milliseconds(30), decay: .seconds(10), now: 0)
        ewma.decay(now: 10 * second)
        #expect(abs(ewma.estimateNanoseconds - 30_000_000 * 0.36787944117144233) < 1)
        #expect(ewma.stampNanoseconds == 10 * second)
        ewma.decay(now: 5 * second)  // an older time changes nothing
        #expect(abs(ewma.estimateNanoseconds - 30_000_000 * 0.36787944117144233) < 1)
        #expect(!ewma.sampled)
        ewma.observe(rttNanoseconds: 50_000_000, now: 11 * second)  // the first sample still replaces it
        #expect(ewma.estimateNanoseconds == 50_000_000)
    }
}
