import NIOCore

/// HPACK (RFC 7541) for the field blocks the proxy sends, encoded as HAProxy encodes them: a
/// name in HPACK's static table goes as its index, any other name and every value as a
/// literal, none Huffman-coded, and nothing enters the peer's dynamic table (every field is a
/// "literal without indexing", §6.2.2, but for the few whole fields the static table holds,
/// such as `:status: 200`, §6.1, and credentials and cookies, literals never indexed, §6.2.3).
/// Beside a compressing encoder a block is a few bytes longer, and no name is hashed and no
/// table kept.
///
/// The peer's decoder keeps its table empty, so the one thing owed to it is a dynamic table
/// size update (§6.3) at the start of the first block after its SETTINGS_HEADER_TABLE_SIZE
/// changes; the encoder sends size 0, which any setting allows.
struct HTTP2FieldEncoder {
    /// Set when the peer's SETTINGS_HEADER_TABLE_SIZE changed and no block has said since
    /// what size the encoder uses.
    private var owesSizeUpdate = false

    /// The peer's SETTINGS_HEADER_TABLE_SIZE arrived.
    mutating func peerSetTableSize() {
        owesSizeUpdate = true
    }

    /// Starts a block in `buffer`.
    mutating func begin(_ buffer: inout ByteBuffer) {
        guard owesSizeUpdate else { return }
        owesSizeUpdate = false
        buffer.writeByte(0x20)  // dynamic table size update: 0
    }

    /// `:status`, as the whole static field when the table has it (§6.1).
    static func appendStatus(_ code: Int, to buffer: inout ByteBuffer) {
        let whole: UInt8? =
            switch code {
            case 200: 8
            case 204: 9
            case 206: 10
            case 304: 11
            case 400: 12
            case 404: 13
            case 500: 14
            default: nil
            }
        if let whole {
            buffer.writeByte(0x80 | whole)
            return
        }
        buffer.writeByte(8)  // literal without indexing, name :status
        buffer.writeByte(3)
        let digits = min(max(code, 0), 999)
        buffer.writeByte(UInt8(ascii: "0") + UInt8(digits / 100))
        buffer.writeByte(UInt8(ascii: "0") + UInt8(digits / 10 % 10))
        buffer.writeByte(UInt8(ascii: "0") + UInt8(digits % 10))
    }

    /// A request's pseudo-fields (`:scheme` is `http`), the common ones as whole static fields.
    static func appendRequestLine(method: String, authority: String, path: String, to buffer: inout ByteBuffer) {
        switch method {
        case "GET": buffer.writeByte(0x82)
        case "POST": buffer.writeByte(0x83)
        default: appendLiteral(index: 2, value: method, to: &buffer)
        }
        buffer.writeByte(0x86)  // :scheme: http
        appendLiteral(index: 1, value: authority, to: &buffer)
        if path == "/" {
            buffer.writeByte(0x84)
        } else {
            appendLiteral(index: 4, value: path, to: &buffer)
        }
    }

    /// A field, its name in lower case (HTTP/1.1 sends names in any case, HTTP/2 allows only
    /// lower).
    static func append(name: String, value: String, to buffer: inout ByteBuffer) {
        var name = name
        var value = value
        name.withUTF8 { name in
            value.withUTF8 { value in append(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value), to: &buffer) }
        }
    }

    /// A field from its bytes, its name in lower case.
    static func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, to buffer: inout ByteBuffer) {
        let index = HPACKStaticTable.index(ofName: name)
        let most = (index == nil ? 1 + FieldBytes.integerBytes + name.count : FieldBytes.integerBytes) + FieldBytes.integerBytes + value.count
        buffer.writeInPlace(minimumWritableBytes: most) { target in
            var out = FieldBytes(target)
            if let index {
                out.integer(index, prefixBits: 4, flags: isNeverIndexed(index) ? 0x10 : 0)
            } else {
                out.byte(0)  // literal without indexing, new name
                out.integer(name.count, prefixBits: 7, flags: 0)
                out.bytes(name, lowercasing: true)
            }
            out.integer(value.count, prefixBits: 7, flags: 0)
            out.bytes(value, lowercasing: false)
            return out.count
        }
    }

    /// A literal without indexing whose name is the static table's entry `index`.
    private static func appendLiteral(index: Int, value: String, to buffer: inout ByteBuffer) {
        var value = value
        value.withUTF8 { value in
            _ = buffer.writeInPlace(minimumWritableBytes: 2 * FieldBytes.integerBytes + value.count) { target in
                var out = FieldBytes(target)
                out.integer(index, prefixBits: 4, flags: 0)
                out.integer(value.count, prefixBits: 7, flags: 0)
                out.bytes(UnsafeRawBufferPointer(value), lowercasing: false)
                return out.count
            }
        }
    }

    /// A field's bytes written through a pointer (one capacity check a field, where a
    /// `ByteBuffer` write per byte checked each time). Strings are never Huffman-coded.
    private struct FieldBytes {
        /// The most bytes an integer takes (§5.1: a prefix byte, then 7 bits a byte).
        static let integerBytes = 10

        private let target: UnsafeMutableRawBufferPointer
        private(set) var count = 0

        init(_ target: UnsafeMutableRawBufferPointer) {
            self.target = target
        }

        mutating func byte(_ byte: UInt8) {
            target[count] = byte
            count += 1
        }

        /// An integer with an N-bit prefix (§5.1), the first byte's other bits `flags`.
        mutating func integer(_ value: Int, prefixBits: Int, flags: UInt8) {
            let limit = (1 << prefixBits) - 1
            guard value >= limit else { return byte(flags | UInt8(value)) }
            byte(flags | UInt8(limit))
            var rest = value - limit
            while rest >= 128 {
                byte(UInt8(rest & 0x7F) | 0x80)
                rest >>= 7
            }
            byte(UInt8(rest))
        }

        mutating func bytes(_ bytes: UnsafeRawBufferPointer, lowercasing: Bool) {
            if lowercasing {
                for source in bytes { byte(HeaderText.lowercased(source)) }
            } else if let base = bytes.baseAddress, let into = target.baseAddress {
                (into + count).copyMemory(from: base, byteCount: bytes.count)
                count += bytes.count
            }
        }
    }

    /// The entries whose fields go as literals never indexed (§6.2.3: an intermediary keeps
    /// that form for fields it arrived in, and these are the ones clients send so):
    /// `authorization`, `cookie`, `proxy-authorization`, `set-cookie`.
    private static func isNeverIndexed(_ index: Int) -> Bool {
        switch index {
        case 23, 32, 49, 55: true
        default: false
        }
    }
}
