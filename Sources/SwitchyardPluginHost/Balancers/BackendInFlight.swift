import Synchronization

/// Requests in flight to each endpoint of one backend, counted across every event loop: what
/// a balancer reads as `sy_endpoint_load.backend_in_flight`. Each loop adds its own starts and
/// ends; a pick reads them all (relaxed: a count a moment old is still a good load signal).
public final class BackendInFlight: Sendable {
    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    private let counters: [Counter]

    /// Counters for `count` endpoints, all zero.
    public init(count: Int) {
        counters = (0..<count).map { _ in Counter() }
    }

    /// Number of endpoints.
    public var count: Int { counters.count }

    /// Requests in flight to endpoint `index` on every loop.
    @inline(__always)
    public subscript(index: Int) -> Int { max(0, counters[index].value.load(ordering: .relaxed)) }

    /// A loop started (`+1`) or ended (`-1`) a request to endpoint `index`.
    @inline(__always)
    public func add(_ delta: Int, at index: Int) {
        counters[index].value.add(delta, ordering: .relaxed)
    }
}
