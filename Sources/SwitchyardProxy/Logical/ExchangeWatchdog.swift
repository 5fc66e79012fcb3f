import NIOCore

/// The route timeouts of every exchange on one event loop, with one NIO timer: an exchange
/// registers once (a slot in an array, no allocation once the array has grown), and the timer
/// is armed for the nearest deadline any exchange has announced. When it fires it asks each
/// exchange whether its own nearest bound has passed (activity may have moved an idle bound on)
/// and re-arms for the next. So a request costs no timer of its own (NIO's timers cost an
/// allocation each and a linear search to cancel), and a busy loop's timer fires only when some
/// exchange is about to run out; each firing scans the loop's open exchanges once.
final class ExchangeWatchdog {
    private let eventLoop: EventLoop
    private var watched: [Exchange?] = []
    private var freeSlots: [Int] = []
    private var timer: Scheduled<Void>?
    private var armedFor: NIODeadline?

    init(eventLoop: EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Watches `exchange`, whose nearest bound is `deadline`; returns its slot.
    func watch(_ exchange: Exchange, until deadline: NIODeadline) -> Int {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            watched[slot] = exchange
        } else {
            slot = watched.count
            watched.append(exchange)
        }
        arm(deadline)
        return slot
    }

    /// An exchange's nearest bound moved to `deadline` (it got nearer: a response timeout started).
    func deadlineMoved(to deadline: NIODeadline) {
        arm(deadline)
    }

    /// The exchange in `slot` ended.
    func unwatch(slot: Int) {
        watched[slot] = nil
        freeSlots.append(slot)
    }

    private func arm(_ deadline: NIODeadline) {
        if let armedFor, armedFor <= deadline { return }
        timer?.cancel()
        armedFor = deadline
        // The watchdog lives as long as its loop's slot: a strong capture is fine.
        timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { self.fire() }
    }

    private func fire() {
        timer = nil
        armedFor = nil
        let now = eventLoop.now
        var due: [Exchange] = []
        var next: NIODeadline?
        for case let exchange? in watched {
            guard let deadline = exchange.nextDeadline else { continue }
            if deadline <= now {
                due.append(exchange)
            } else if next.map({ deadline < $0 }) ?? true {
                next = deadline
            }
        }
        for exchange in due { exchange.timePassed(now: now) }
        if let next { arm(next) }
    }
}
