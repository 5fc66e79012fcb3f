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

    /// The index of the first entry named `name` (compared in lower case), if any.
    static func index(ofName name: UnsafeRawBufferPointer) -> Int? {
        guard name.count < namesByLength.count else { return nil }
        return namesByLength[name.count].first { HeaderText.equalsIgnoringCase(name, names[$0 - 1]) }
    }

    /// The entries by the length of their names (the first of each name only).
    private static let namesByLength: [[Int]] = {
        var byLength = [[Int]](repeating: [], count: 28)
        for (offset, name) in names.enumerated() where offset == 0 || names[offset - 1].description != name.description {
            byLength[name.utf8CodeUnitCount].append(offset + 1)
        }
        return byLength
    }()
}

extension StaticString {
    /// The string's UTF-8 bytes.
    var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount)
    }
}
