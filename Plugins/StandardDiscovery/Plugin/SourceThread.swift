#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import StandardDiscovering
import SwitchyardPluginKit
import Synchronization

/// The thread one discovery instance watches its source on: started by `start`, stopped and
/// joined by `stop`, so once `stop` returns nothing publishes any more. Every wait on it
/// checks ``stop`` at least every 100 ms.
final class SourceThread: Sendable {
    /// Set by ``stopAndJoin()``; every wait of the body checks it.
    let stop = StopSignal()
    private let thread = Mutex<pthread_t?>(nil)

    /// Runs `body` on a new thread.
    func start(_ body: @escaping @Sendable (StopSignal) -> Void) {
        let signal = stop
        let box = Unmanaged.passRetained(Body { body(signal) })
        var handle = pthread_t()
        let created = pthread_create(
            &handle, nil,
            { context in
                let body = Unmanaged<Body>.fromOpaque(context!).takeRetainedValue()
                body.run()
                return nil
            }, box.toOpaque())
        if created == 0 {
            thread.withLock { $0 = handle }
        } else {
            box.release()
        }
    }

    /// Stops the body and waits for its thread to end.
    func stopAndJoin() {
        stop.stop()
        if let handle = thread.withLock({ state -> pthread_t? in
            defer { state = nil }
            return state
        }) {
            pthread_join(handle, nil)
        }
    }

    /// Waits `duration`, or less when stopped; returns false when stopped.
    static func sleep(_ duration: Duration, stop: StopSignal) -> Bool {
        let deadline = ContinuousClock.now + duration
        while !stop.isStopped {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return true }
            let slice = min(left, .milliseconds(50))
            let (seconds, attoseconds) = slice.components
            var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
            nanosleep(&request, nil)
        }
        return false
    }

    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}

/// Waits between failed attempts: from `initial`, doubling to `maximum`, each with up to 50 %
/// random jitter (so proxies restarted together do not hammer a source in step).
struct Backoff {
    let initial: Duration
    let maximum: Duration
    private var next: Duration
    private var random: Xoshiro256

    init(initial: Duration = .seconds(1), maximum: Duration = .seconds(30), seed: UInt64) {
        self.initial = initial
        self.maximum = maximum
        self.next = initial
        self.random = Xoshiro256(seed: seed)
    }

    /// The wait before the next attempt.
    mutating func delay() -> Duration {
        let base = next
        next = min(next * 2, maximum)
        let jitter = Double(random.next() % 1000) / 1000 * 0.5
        return base + base * jitter
    }

    /// An attempt succeeded: the next failure waits `initial` again.
    mutating func reset() { next = initial }
}
