import NIOCore

/// Objects to act on once the event loop's current pass is over, with one scheduled task per
/// pass however many are added. It holds what may not happen where it is noticed: each loop
/// keeps the HTTP/2 streams that closed while their exchanges may still be returning through
/// them until then (``LoopSlot/retiredStreams``: an exchange holds its client `unowned`), and
/// each HTTP/2 connection tells a stream whose response went back under the low watermark
/// while the connection wrote once the write is over.
final class EndOfPass<Item: AnyObject> {
    /// A ring: taken from the front as they are acted on, so an item added by an action is
    /// acted on in the same run, and the storage is kept for the next pass (an array's
    /// `removeAll(keepingCapacity:)` takes the generic `replaceSubrange` path).
    private var items = CircularBuffer<Item>(initialCapacity: 4)
    private var scheduled = false
    private let eventLoop: EventLoop
    private let action: (Item) -> Void

    init(eventLoop: EventLoop, action: @escaping (Item) -> Void) {
        self.eventLoop = eventLoop
        self.action = action
    }

    /// Acts on `item` once this pass is over.
    func add(_ item: Item) {
        items.append(item)
        guard !scheduled else { return }
        scheduled = true
        eventLoop.assumeIsolated().execute { self.run() }
    }

    private func run() {
        scheduled = false
        while let item = items.popFirst() { action(item) }
    }
}
