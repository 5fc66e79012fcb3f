import NIOCore

/// HPACK (RFC 7541) for the field blocks a peer sends: each block is decoded whole into
/// ``HTTP2ReceivedFields``, in place of a list of `String`s, and the peer's dynamic table is
/// kept in one buffer (``HPACKDynamicTable``).
///
/// Every block is hostile input, and what does not decode is a ``Failure`` (a connection's
/// COMPRESSION_ERROR, RFC 9113 §4.3): an index of 0 or past the tables (§2.3.3), an integer
/// over 2^28 or a string past the block's end (§5.1, §5.2), a Huffman code that does not
/// decode (§5.2: EOS, or padding over 7 bits or not all ones), a dynamic table size update
/// over the size the proxy allows, after a field, or a third in a row (§4.2, §6.3), and a
/// block whose fields add up, as SETTINGS_MAX_HEADER_LIST_SIZE counts them (RFC 9113 §6.5.2:
/// each name and value and 32), past `maxListSize`. So a block's decoded bytes stay within
/// that limit (and a field's size) whatever its indexes repeat.
struct HTTP2FieldDecoder {
    /// Why a block did not decode.
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The most an integer's continuation bytes may carry: 4 bytes, 28 bits.
    private static let maxIntegerShift = 28

    private var table: HPACKDynamicTable
    /// The largest dynamic table the peer may ask for: the proxy's SETTINGS_HEADER_TABLE_SIZE.
    private let maxTableSize: Int
    private let maxListSize: Int
    /// The last block decoded, its storage reused for the next unless it grew past
    /// ``keptStorageBytes``.
    private var decoded = HTTP2ReceivedFields()
    /// The most storage the decoder keeps between blocks: a peer's one large block does not
    /// stay in an idle connection's memory.
    static let keptStorageBytes = 4_096

    /// The storage kept for the next block.
    var keptBytes: Int { decoded.storageBytes }

    /// - Parameters:
    ///   - maxTableSize: the proxy's SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2).
    ///   - maxListSize: the most a block's fields may add up to.
    init(maxTableSize: Int = BuiltInLimits.http2HeaderTableBytes, maxListSize: Int) {
        table = HPACKDynamicTable(maxSize: maxTableSize)
        self.maxTableSize = maxTableSize
        self.maxListSize = maxListSize
    }

    /// Decodes a whole field block, updating the dynamic table as it says.
    mutating func decode(_ block: ByteBuffer) throws(Failure) -> HTTP2ReceivedFields {
        decoded.removeAll()
        try block.withUnsafeReadableBytes { (bytes) throws(Failure) in
            var reader = Reader(bytes)
            try Self.decode(&reader, table: &table, maxTableSize: maxTableSize, maxListSize: maxListSize, into: &decoded)
        }
        guard decoded.storageBytes > Self.keptStorageBytes else { return decoded }
        defer { decoded = HTTP2ReceivedFields() }
        return decoded
    }

    private static func decode(_ reader: inout Reader, table: inout HPACKDynamicTable, maxTableSize: Int, maxListSize: Int, into fields: inout HTTP2ReceivedFields) throws(Failure) {
        var listSize = 0
        var sizeUpdates = 0
        while let first = reader.peek() {
            let field: (nameCount: Int, valueCount: Int)
            switch first {
            case 0x80...:  // an indexed field (§6.1)
                let index = try reader.integer(prefixBits: 7)
                field = try fields.append { (out) throws(Failure) in
                    try copy(index, from: table, into: &out, part: .name)
                } value: { (out) throws(Failure) in
                    try copy(index, from: table, into: &out, part: .value)
                }
            case 0x20..<0x40:  // a dynamic table size update (§6.3), only before the fields (§4.2)
                guard fields.count == 0 else { throw Failure("a dynamic table size update after a field") }
                // §4.2: the smallest size since the last block, then the final one.
                sizeUpdates += 1
                guard sizeUpdates <= 2 else { throw Failure("more than two dynamic table size updates") }
                let size = try reader.integer(prefixBits: 5)
                guard size <= maxTableSize else { throw Failure("a dynamic table size update to \(size), over \(maxTableSize)") }
                table.resize(to: size)
                continue
            default:  // a literal (§6.2): with incremental indexing, without, or never indexed
                let indexing = first >= 0x40
                let index = try reader.integer(prefixBits: indexing ? 6 : 4)
                field = try fields.append { (out) throws(Failure) in
                    index == 0 ? try reader.string(into: &out) : try copy(index, from: table, into: &out, part: .name)
                } value: { (out) throws(Failure) in
                    try reader.string(into: &out)
                }
                if indexing {
                    fields.withField(at: fields.count - 1) { name, value in table.add(name: name, value: value) }
                }
            }
            listSize += field.nameCount + field.valueCount + 32
            guard listSize <= maxListSize else { throw Failure("fields over \(maxListSize) bytes") }
        }
    }

    /// One part of a field the tables hold.
    private enum Part {
        case name, value
    }

    /// Appends the name or value of the field at `index` in the static table then the dynamic
    /// one (§2.3.3); returns its length.
    private static func copy(_ index: Int, from table: HPACKDynamicTable, into out: inout ByteBuffer, part: Part) throws(Failure) -> Int {
        guard index > 0 else { throw Failure("index 0") }
        if index <= HPACKStaticTable.count {
            return out.writeCopy(of: part == .name ? HPACKStaticTable.names[index - 1].bytes : HPACKStaticTable.values[index - 1].bytes)
        }
        let written = try table.withEntry(index - HPACKStaticTable.count) { (name, value) throws(Failure) in
            out.writeCopy(of: part == .name ? name : value)
        }
        guard let written else { throw Failure("index \(index), past the tables' \(HPACKStaticTable.count + table.count) entries") }
        return written
    }

    /// A block's bytes, read from the front.
    private struct Reader {
        private let bytes: UnsafeRawBufferPointer
        private var offset = 0

        init(_ bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        /// The next byte, not taken; nil at the end.
        func peek() -> UInt8? {
            offset < bytes.count ? bytes[offset] : nil
        }

        /// An integer whose first byte's low `prefixBits` begin it (§5.1).
        mutating func integer(prefixBits: Int) throws(Failure) -> Int {
            guard let first = peek() else { throw Failure("an integer past the block's end") }
            offset += 1
            let mask = (1 << prefixBits) - 1
            var value = Int(first) & mask
            guard value == mask else { return value }
            var shift = 0
            while true {
                guard let byte = peek() else { throw Failure("an integer past the block's end") }
                offset += 1
                value += Int(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
                guard shift < HTTP2FieldDecoder.maxIntegerShift else { throw Failure("an integer over 2^\(HTTP2FieldDecoder.maxIntegerShift)") }
            }
        }

        /// Appends a string literal (§5.2), Huffman-decoded if it is coded; returns the bytes
        /// appended.
        mutating func string(into out: inout ByteBuffer) throws(Failure) -> Int {
            let huffman = (peek() ?? 0) & 0x80 != 0
            let length = try integer(prefixBits: 7)
            guard length <= bytes.count - offset else { throw Failure("a string of \(length) bytes past the block's end") }
            let raw = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length])
            offset += length
            guard huffman else { return out.writeCopy(of: raw) }
            do {
                return try out.writeInPlace(minimumWritableBytes: HPACKHuffman.maxDecodedBytes(length)) { (target) throws(HPACKHuffman.InvalidCode) in
                    try HPACKHuffman.decode(raw, into: target)
                }
            } catch {
                throw Failure(error.description)
            }
        }
    }
}
