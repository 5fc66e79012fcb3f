import NIOHTTP1

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded.
enum HopByHop {
    /// The hop-by-hop names, lowercase; `connection` first and `te` second (``strip`` treats
    /// them apart).
    private static let names: [StaticString] = [
        "connection", "te", "keep-alive", "proxy-connection", "trailer", "transfer-encoding", "upgrade", "proxy-authenticate",
        "proxy-authorization",
    ]

    /// Names a `Connection` header may never remove: the message's length and its authority.
    /// (`transfer-encoding` goes anyway, as hop-by-hop; the proxy frames every body itself.)
    private static let protected = ["host", "content-length"]

    /// Removes hop-by-hop fields and those the `Connection` field names, except framing fields
    /// and `Host`, from a request's. `te: trailers`, the one TE value HTTP/2 allows and gRPC
    /// needs, is kept.
    ///
    /// One pass finds what is there without allocating; most requests carry none of them, and
    /// the common `Connection: keep-alive` costs one removal (one copy of the lines).
    static func strip(_ fields: inout FieldLines) {
        var found: UInt16 = 0  // bit i: names[i] is present
        var keepsTrailers = false
        var teFields = 0
        var tally = Tally()
        fields.forEach { name, value in
            guard let index = index(of: name) else { return }
            found |= 1 << index
            if index == 1 {
                teFields += 1
                if !keepsTrailers { keepsTrailers = HeaderText.equalsIgnoringCase(trimmed(value), "trailers") }
            }
            if index == 0 { tally.noteConnection(value) }
        }
        // Nothing, or only the one `te: trailers` every gRPC request carries: nothing to remove.
        guard found != 0, found != 1 << 1 || teFields != 1 || !keepsTrailers else { return }
        fields.removeAll { name in index(of: name) != nil || tally.listed.contains { equalsIgnoringCase(name, $0) } }
        if keepsTrailers { fields.replaceOrAdd(name: "te", value: "trailers") }
    }

    /// The hop-by-hop fields of a response head (HTTP/1.1, or the few HTTP/2 lets through),
    /// noted as its parser reads its fields, so they never become lines (only the names
    /// `Connection` lists may need removing after, as it may come last): which
    /// fields to drop, the names `Connection` lists, and whether the connection stays open.
    struct Tally {
        private var closes = false
        private var keepAlives = 0
        /// Names `Connection` listed that are neither hop-by-hop already nor protected, each
        /// once, at most ``listedLimit`` of them.
        private(set) var listed: [String] = []

        /// The most names of `Connection` noted: every field is compared with each, and a
        /// hostile peer could list thousands in one head. Names past it are not dropped.
        static let listedLimit = 64

        /// Notes a field; returns whether it is forwarded (false for a hop-by-hop one).
        mutating func keep<Bytes: BidirectionalCollection<UInt8>>(name: Bytes, value: Bytes) -> Bool {
            guard let index = HopByHop.index(of: name) else { return true }
            if index == 0 { noteConnection(value) }
            return false
        }

        /// Notes a `Connection` value: its keep-alive tokens and the names it lists.
        mutating func noteConnection<Bytes: BidirectionalCollection<UInt8>>(_ value: Bytes) {
            // Nearly every peer sends one token alone (nginx's every response: `keep-alive`).
            if HeaderText.equalsIgnoringCase(value, "keep-alive") {
                keepAlives += 1
                return
            }
            if HeaderText.equalsIgnoringCase(value, "close") {
                closes = true
                return
            }
            HopByHop.forEachElement(of: value) { token in
                if equalsIgnoringCase(token, "close") {
                    closes = true
                } else if equalsIgnoringCase(token, "keep-alive") {
                    keepAlives += 1
                } else if !token.isEmpty, listed.count < Self.listedLimit, token.allSatisfy(HeaderText.isTokenByte), HopByHop.index(of: token) == nil,
                    !protected.contains(where: { equalsIgnoringCase(token, $0) }), !listed.contains(where: { equalsIgnoringCase(token, $0) })
                {
                    listed.append(String(decoding: token, as: UTF8.self).lowercased())
                }
            }
        }

        /// Whether the connection stays open, as NIO's `isKeepAlive` reads it: a `close` token
        /// says no, one `keep-alive` token yes, two of them no; without either, HTTP/1.1 does
        /// and HTTP/1.0 does not.
        func keepsAlive(version: HTTPVersion) -> Bool {
            if closes { return false }
            switch keepAlives {
            case 0: return version.major == 1 && version.minor >= 1
            case 1: return true
            default: return false
            }
        }

        /// Drops the fields `Connection` listed from `fields`.
        func dropListed(from fields: inout FieldLines) {
            guard !listed.isEmpty else { return }
            fields.removeAll { name in listed.contains { equalsIgnoringCase(name, $0) } }
        }
    }

    /// Calls `body` with each element of a comma-separated list, without spaces around it.
    private static func forEachElement<Bytes: BidirectionalCollection<UInt8>>(of bytes: Bytes, _ body: (Bytes.SubSequence) -> Void) {
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: ",")) ?? bytes.endIndex
            body(trimmed(bytes[start..<end]))
            start = end < bytes.endIndex ? bytes.index(after: end) : end
        }
    }

    /// The index of `name` in ``names``, ignoring case; nil when it is not hop-by-hop.
    @inline(__always)
    private static func index<Name: Collection<UInt8>>(of name: Name) -> Int? {
        switch name.count {
        case 2, 7, 10, 16, 17, 18, 19: names.firstIndex { HeaderText.equalsIgnoringCase(name, $0) }
        default: nil
        }
    }

    private static func trimmed<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> Bytes.SubSequence {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let start = bytes.firstIndex { !isSpace($0) } ?? bytes.endIndex
        let end = bytes[start...].lastIndex { !isSpace($0) }.map { bytes.index(after: $0) } ?? start
        return bytes[start..<end]
    }

    /// Whether `bytes` spell `lowercase` (which is lowercase ASCII), ignoring ASCII case.
    @inline(__always)
    private static func equalsIgnoringCase<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ lowercase: String) -> Bool {
        var lowercase = lowercase
        return lowercase.withUTF8 { HeaderText.equalsIgnoringCase(bytes, $0) }
    }
}
