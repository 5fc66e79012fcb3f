import NIOCore

/// A decoder's dynamic table (RFC 7541 §2.3.2, §4): the fields a peer's blocks added, newest
/// first, within a maximum size counted as §4.1 counts it (each entry's name and value bytes
/// and 32). The entries' bytes lie one after another in one buffer, oldest first: an entry is
/// added at the end and evicted from the front, and the live bytes move to the buffer's start
/// when the end is reached, so adding an entry allocates nothing once the buffer is grown.
struct HPACKDynamicTable {
    /// An entry's place in ``bytes``.
    private struct Entry {
        var start: Int
        var nameCount: Int
        var valueCount: Int

        /// What the entry counts against the table's size (§4.1).
        var size: Int { nameCount + valueCount + 32 }
    }

    /// The entries' bytes, from the reader index; an entry's `start` is its index in the buffer.
    private var bytes = ByteBuffer()
    /// Oldest first.
    private var entries = CircularBuffer<Entry>(initialCapacity: 8)
    /// The entries' size (§4.1).
    private var size = 0
    /// The most the entries may take, as the peer last set it.
    private var maxSize: Int

    init(maxSize: Int) {
        self.maxSize = maxSize
    }

    /// The number of entries.
    var count: Int { entries.count }

    /// Calls `body` with the name and value of entry `index`, 1 the newest (the entry a peer
    /// calls 62), or returns nil past the last.
    func withEntry<Result>(_ index: Int, _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(HTTP2FieldDecoder.Failure) -> Result) throws(HTTP2FieldDecoder.Failure) -> Result? {
        guard index >= 1, index <= entries.count else { return nil }
        let entry = entries[entries.index(entries.endIndex, offsetBy: -index)]
        let start = entry.start - bytes.readerIndex
        return try bytes.withUnsafeReadableBytes { (all) throws(HTTP2FieldDecoder.Failure) -> Result in
            let name = UnsafeRawBufferPointer(rebasing: all[start..<start + entry.nameCount])
            let value = UnsafeRawBufferPointer(rebasing: all[start + entry.nameCount..<start + entry.nameCount + entry.valueCount])
            return try body(name, value)
        }
    }

    /// Sets the most the entries may take (a dynamic table size update, §6.3), evicting the
    /// oldest as needed (§4.3).
    mutating func resize(to maxSize: Int) {
        self.maxSize = maxSize
        evict(toFit: 0)
    }

    /// Adds a field as the newest entry (§4.4), evicting the oldest to make room first. A
    /// field larger than the table empties it and is not added. `name` and `value` must not
    /// point into the table.
    mutating func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let size = name.count + value.count + 32
        evict(toFit: size)
        guard size <= maxSize else { return }
        if bytes.writableBytes < name.count + value.count, bytes.readerIndex > 0 {
            // The live bytes move to the start, so the buffer stays under twice the table.
            let moved = bytes.readerIndex
            bytes.discardReadBytes()
            for index in entries.indices { entries[index].start -= moved }
        }
        let start = bytes.writerIndex
        bytes.writeCopy(of: name)
        bytes.writeCopy(of: value)
        entries.append(Entry(start: start, nameCount: name.count, valueCount: value.count))
        self.size += size
    }

    /// Evicts the oldest entries until `incoming` more fits, or none is left.
    private mutating func evict(toFit incoming: Int) {
        while size + incoming > maxSize, let oldest = entries.popFirst() {
            size -= oldest.size
            bytes.moveReaderIndex(forwardBy: oldest.nameCount + oldest.valueCount)
        }
        if entries.isEmpty { bytes.clear() }
    }
}
