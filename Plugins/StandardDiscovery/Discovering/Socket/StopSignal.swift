import Synchronization

/// Lets another thread stop blocking I/O: every wait in ``BlockingSocket`` polls in slices of
/// at most 100 ms and checks it.
///
/// A signal only ever goes from running to stopped; make a new one to start again.
public final class StopSignal: Sendable {
    private let stopped = Atomic<Bool>(false)

    /// A signal that has not been stopped.
    public init() {}

    /// Stops every wait that checks this signal, now and from now on. Idempotent; callable
    /// from any thread.
    public func stop() {
        stopped.store(true, ordering: .releasing)
    }

    /// Whether ``stop()`` has been called.
    public var isStopped: Bool {
        stopped.load(ordering: .acquiring)
    }
}
