import Synchronization

/// The faults (bad answers) of one resolver or balancer: counted every time, logged only the
/// first time, so a plugin answering badly on every request cannot flood the log. Lock-free:
/// a balancer's fault happens on the request path.
public final class FaultRecord: Sendable {
    /// The implementation's name.
    public let implementation: String
    private let context: PluginContext
    private let counter = Atomic<Int>(0)
    private let reported = Atomic<Bool>(false)

    init(implementation: String, context: PluginContext) {
        self.implementation = implementation
        self.context = context
    }

    /// How many faults it has made.
    public var count: Int { counter.load(ordering: .relaxed) }

    /// Counts a fault; the first one is logged with `what` went wrong.
    func record(_ what: String) {
        counter.add(1, ordering: .relaxed)
        if !reported.exchange(true, ordering: .relaxed) {
            context.logger.error("plugin fault in \(implementation): \(what) (answered safely; later faults are counted, not logged)")
        }
    }
}
