/// HPACK's static table (RFC 7541 Appendix A): 61 fields every peer knows by index, 1 to 61.
/// The encoder sends names by their index here; the decoder (``HTTP2FieldDecoder``) looks up
/// the indexes a peer sends.
enum HPACKStaticTable {
    /// The number of entries; a dynamic table's entries are numbered after them (§2.3.3).
    static let count = 61

    /// The names, entry 1 first.
    static let names: [StaticString] = [
        ":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme", ":status", ":status", ":status",
        ":status", ":status", ":status", ":status", "accept-charset", "accept-encoding", "accept-language",
        "accept-ranges", "accept", "access-control-allow-origin", "age", "allow", "authorization", "cache-control",
        "content-disposition", "content-encoding", "content-language", "content-length", "content-location",
        "content-range", "content-type", "cookie", "date", "etag", "expect", "expires", "from", "host", "if-match",
        "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "link", "location",
        "max-forwards", "proxy-authenticate", "proxy-authorization", "range", "referer", "refresh", "retry-after",
        "server", "set-cookie", "strict-transport-security", "transfer-encoding", "user-agent", "vary", "via",
        "www-authenticate",
    ]

    /// The values, entry 1 first: empty but for entries 2 to 14 and 16.
    static let values: [StaticString] = [
        "", "GET", "POST", "/", "/index.html", "http", "https", "200", "204", "206", "304", "400", "404", "500", "",
        "gzip, deflate", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
        "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "",
    ]

    /// The index of the first entry named `name` (compared in lower case), if any: the one
    /// entry ``slot(length:first:last:)`` names, compared once.
    static func index(ofName name: UnsafeRawBufferPointer) -> Int? {
        guard let first = name.first, let last = name.last else { return nil }
        let index = Int(indexBySlot[slot(length: name.count, first: HeaderText.lowercased(first), last: HeaderText.lowercased(last))])
        guard index > 0, HeaderText.equalsIgnoringCase(name, names[index - 1]) else { return nil }
        return index
    }

    /// A hash of a name's length and its first and last bytes that no two of the table's 52
    /// names share (`HTTP2FieldEncoderTests` checks it).
    @inline(__always)
    static func slot(length: Int, first: UInt8, last: UInt8) -> Int {
        (length &* 11 &+ Int(first) &+ Int(last) &* 37) & 0xFF
    }

    /// The first entry of each name by its ``slot(length:first:last:)``; 0 where none is.
    private static let indexBySlot: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256)
        for (offset, name) in names.enumerated().reversed() {
            let bytes = name.bytes
            table[slot(length: bytes.count, first: bytes[0], last: bytes[bytes.count - 1])] = UInt8(offset + 1)
        }
        return table
    }()
}

extension StaticString {
    /// The string's UTF-8 bytes.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount)
    }
}
