import NIOCore

/// One event loop's buffer for the HTTP/1.x heads its connections write. A connection borrows
/// it while it puts a response together and gives it back once the channel has taken the
/// bytes: the channel's reference lasts until the socket wrote them (most often within the
/// same flush), after which the next borrower writes into the same storage again. A busy
/// connection writes heads without allocating, and an idle one holds no buffer. Borrowing it
/// while the channel still holds it costs one copy-on-write allocation, never wrong bytes.
final class HeadScratch {
    /// The most capacity kept after an unusually large response was put together.
    static let keptCapacity = 16384
    private var buffer: ByteBuffer?

    init() {}

    /// The buffer, cleared (or a new one from `allocator`, only asked for then, when it is lent
    /// out).
    func take(allocator: @autoclosure () -> ByteBufferAllocator) -> ByteBuffer {
        guard var buffer else { return allocator().buffer(capacity: 1024) }
        self.buffer = nil
        buffer.clear()
        return buffer
    }

    /// Gives `buffer` back for the next borrower.
    func give(_ buffer: ByteBuffer) {
        guard buffer.capacity <= Self.keptCapacity else { return }
        self.buffer = buffer
    }
}
