import NIOCore
import NIOEmbedded
import Testing

@testable import SwitchyardProxy

/// One clock read per connection read, and differences of times that may meet out of order.
@Suite("Read clock")
struct ReadClockTests {
    @Test("a read's events share the time of its first; outside a read, and in the next, the clock is read again")
    func oneTimeARead() {
        let loop = EmbeddedEventLoop()
        var clock = ReadClock()
        let before = clock.now(loop)
        loop.advanceTime(by: .milliseconds(1))
        #expect(clock.now(loop) == before + .milliseconds(1))
        clock.readBegan()
        let read = clock.now(loop)
        loop.advanceTime(by: .milliseconds(1))
        #expect(clock.now(loop) == read)
        clock.readEnded()
        #expect(clock.now(loop) == read + .milliseconds(1))
        clock.readBegan()
        loop.advanceTime(by: .milliseconds(1))
        #expect(clock.now(loop) == read + .milliseconds(2))
    }

    @Test("nanoseconds(since:) is the difference, and 0 (never a wrapped one) when the earlier time is the later")
    func differences() {
        let early = NIODeadline.uptimeNanoseconds(1_000)
        let late = NIODeadline.uptimeNanoseconds(1_500)
        #expect(late.nanoseconds(since: early) == 500)
        #expect(early.nanoseconds(since: late) == 0)
        #expect(early.nanoseconds(since: early) == 0)
    }
}
