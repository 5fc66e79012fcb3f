import NIOCore

/// A received field block, decoded (``HTTP2FieldDecoder``): its fields in the order they came,
/// their names' and values' bytes one after another in one buffer. The decoder reuses the
/// storage for its next block once the last one is let go, so a block costs no allocation
/// after the first; ``HTTP2Fields`` turns it into the head the rest of the proxy speaks.
struct HTTP2ReceivedFields {
    /// A field's place in ``bytes``: its name, then its value right after.
    private struct Field {
        var start: Int
        var nameCount: Int
        var valueCount: Int
    }

    private var bytes = ByteBuffer()
    private var fields: [Field] = []

    /// The number of fields.
    var count: Int { fields.count }

    /// The bytes its storage takes, roughly: its buffer's and its list's capacity.
    var storageBytes: Int { bytes.capacity + fields.capacity * MemoryLayout<Field>.stride }

    /// Empties the block, keeping its storage.
    mutating func removeAll() {
        bytes.clear()
        fields.removeAll(keepingCapacity: true)
    }

    /// Appends a field whose `name` and `value` closures append its bytes to the buffer they
    /// are given, each returning how many it appended; returns both counts.
    mutating func append<Failure: Error>(
        name: (inout ByteBuffer) throws(Failure) -> Int,
        value: (inout ByteBuffer) throws(Failure) -> Int
    ) throws(Failure) -> (nameCount: Int, valueCount: Int) {
        let start = bytes.writerIndex
        let nameCount = try name(&bytes)
        let valueCount = try value(&bytes)
        fields.append(Field(start: start, nameCount: nameCount, valueCount: valueCount))
        return (nameCount, valueCount)
    }

    /// Calls `body` with the name and value of the field at `index`.
    func withField<Result, Failure: Error>(
        at index: Int,
        _ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try bytes.withUnsafeReadableBytes { (all) throws(Failure) -> Result in
            let (name, value) = parts(of: fields[index], in: all)
            return try body(name, value)
        }
    }

    /// Calls `body` with each field's name and value, in order.
    func forEach<Failure: Error>(_ body: (_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws(Failure) -> Void) throws(Failure) {
        try bytes.withUnsafeReadableBytes { (all) throws(Failure) in
            for field in fields {
                let (name, value) = parts(of: field, in: all)
                try body(name, value)
            }
        }
    }

    /// `field`'s name and value in `all`, the buffer's readable bytes.
    @inline(__always)
    private func parts(of field: Field, in all: UnsafeRawBufferPointer) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        let start = field.start - bytes.readerIndex
        let valueStart = start + field.nameCount
        return (UnsafeRawBufferPointer(rebasing: all[start..<valueStart]), UnsafeRawBufferPointer(rebasing: all[valueStart..<valueStart + field.valueCount]))
    }
}
