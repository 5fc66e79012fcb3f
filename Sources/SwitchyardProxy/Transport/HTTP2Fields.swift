import NIOCore
import NIOHTTP1
import NIOHTTP2

/// HTTP/2 field blocks to and from the HTTP/1-shaped heads the rest of the proxy speaks
/// (RFC 9113 §8.3), for the listener's streams and the upstreams'. Every received block is
/// checked as it is converted (``HTTP2FieldRules``: names, values, connection-specific fields,
/// pseudo-fields first, each once, the ones the block needs); a block that breaks a rule throws
/// ``MalformedBlock``. The blocks the proxy sends are built from checked heads.
enum HTTP2Fields {
    /// A received block that breaks RFC 9113 §8.2 or §8.3.
    struct MalformedBlock: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = "malformed field block: " + description }
    }

    /// A request head from a request's first field block (`endStream`: the HEADERS frame ended
    /// the stream). `:authority` becomes a `host` field placed first; a `host` the client sent
    /// as well stays beside it, for validation to require the two agree (RFC 9113 §8.3.1).
    /// `cookie` fields become one, joined with `; ` where the first stood (§8.2.3). A
    /// request whose method may carry a body and whose block ends the stream without a
    /// `content-length` gets `content-length: 0` (an HTTP/1.1 server may want a length). A
    /// well-formed CONNECT (`:method` and `:authority` only, §8.5) has its authority as target.
    /// The fields become lines as they are checked; the only Strings made are the path, the
    /// cookie crumbs joined when there are two or more, and a CONNECT's target.
    static func requestHead(_ block: HTTP2ReceivedFields, endStream: Bool) throws(MalformedBlock) -> RequestHead {
        var method: HTTPMethod?
        var scheme = false
        var path: String?
        var authority = false
        var fields = FieldLines(capacity: 32 * block.count)
        var sawField = false
        var hasLength = false
        var cookies = 0
        var cookie = ""  // the crumbs joined, once a second came
        try block.forEach { (name, value) throws(MalformedBlock) in
            guard name.first == UInt8(ascii: ":") else {
                try HTTP2FieldRules.checkField(name, value, request: true)
                sawField = true
                if !hasLength, HeaderText.equals(name, "content-length") { hasLength = true }
                if HeaderText.equals(name, "cookie") {
                    // RFC 9113 §8.2.3: crumbs are joined with "; " before HTTP/1.1 sees them.
                    // The first stays a line as it came; a second starts the joined value.
                    cookies += 1
                    if cookies > 1 {
                        if cookies == 2 { cookie = fields.first(name: "cookie") ?? "" }
                        cookie += "; " + String(decoding: value, as: UTF8.self)
                        return
                    }
                }
                fields.appendChecked(name: name, value: value)
                return
            }
            guard !sawField else { throw .init("pseudo-field \(HTTP2FieldRules.printable(name)) after a field") }
            guard HTTP2FieldRules.isPseudoValue(value) else { throw .init("\(HTTP2FieldRules.printable(name)) has a control character or space") }
            if HeaderText.equals(name, ":method") {
                guard method == nil else { throw .init(":method twice") }
                guard HeaderText.isToken(value) else { throw .init(":method is not a token") }
                method = HTTPMethod(token: value)
            } else if HeaderText.equals(name, ":scheme") {
                guard !scheme else { throw .init(":scheme twice") }
                scheme = true
            } else if HeaderText.equals(name, ":path") {
                guard path == nil else { throw .init(":path twice") }
                path = String(decoding: value, as: UTF8.self)
            } else if HeaderText.equals(name, ":authority") {
                guard !authority else { throw .init(":authority twice") }
                authority = true
                // Pseudo-fields come first: it is the first line.
                if !value.isEmpty { fields.appendChecked(name: "host", value: value) }
            } else {
                throw .init("pseudo-field \(HTTP2FieldRules.printable(name)) in a request")
            }
        }
        guard let method else { throw .init("no :method") }
        if cookies > 1 { fields = joiningCookies(fields, cookie) }
        guard !method.isCONNECT else {
            guard authority, !scheme, path == nil else { throw .init("a CONNECT needs :authority and no :scheme or :path") }
            return RequestHead(version: .http2, method: .CONNECT, uri: fields.first(name: "host") ?? "", fields: fields)
        }
        guard scheme, let path, !path.isEmpty else { throw .init("no :scheme, or no :path") }
        if endStream, !hasLength, method.mayCarryBody { fields.replaceOrAdd(name: "content-length", value: "0") }
        return RequestHead(version: .http2, method: method, uri: path, fields: fields)
    }

    /// `fields` with the value of its one `cookie` line made `crumbs`, the block's crumbs joined.
    private static func joiningCookies(_ fields: FieldLines, _ crumbs: String) -> FieldLines {
        var joined = FieldLines(capacity: fields.bytes.readableBytes + crumbs.utf8.count)
        var crumbs = crumbs
        crumbs.withUTF8 { crumbs in
            fields.forEach { name, value in
                joined.appendChecked(name: name, value: HeaderText.equals(name, "cookie") ? UnsafeRawBufferPointer(crumbs) : value)
            }
        }
        return joined
    }

    /// The message parts a DATA frame's `bytes` carry: its body, its end (END_STREAM), or both.
    static func parts<Head>(of bytes: ByteBuffer, endStream: Bool) -> (first: HTTPPart<Head, ByteBuffer>, second: HTTPPart<Head, ByteBuffer>?) {
        if !endStream { return (.body(bytes), nil) }
        return bytes.readableBytes == 0 ? (.end(nil), nil) : (.body(bytes), .end(nil))
    }

    /// A trailer section's fields (a block after a message's head, which ends the stream): no
    /// pseudo-fields (§8.1).
    static func trailers(_ block: HTTP2ReceivedFields) throws(MalformedBlock) -> HTTPHeaders {
        var fields: [(String, String)] = []
        fields.reserveCapacity(block.count)
        try block.forEach { (name, value) throws(MalformedBlock) in
            guard name.first != UInt8(ascii: ":") else { throw .init("pseudo-field \(HTTP2FieldRules.printable(name)) in trailers") }
            try HTTP2FieldRules.checkField(name, value, request: false)
            fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        return HTTPHeaders(fields)
    }

    /// A request's field block for an upstream: `:method`, `:scheme` (`http`), `:authority`
    /// from the `host` field, `:path`, then the other fields with names in lower case. Throws
    /// for a request without a host (HTTP/2 needs an authority; an HTTP/1.0 client may omit it).
    static func requestBlock(_ head: RequestHead) throws -> HTTP2FieldBlock {
        // An HTTP/2 CONNECT has another form (§8.5), and the proxy carries no tunnels.
        guard !head.method.isCONNECT else { throw UnsendableConnect() }
        guard let host = head.fields.first(name: "host") else { throw MissingAuthority() }
        // An HTTP/1.1 Host may hold what no authority can (a space or a tab; a line holds no
        // other control): it is refused before the stream takes an ID.
        guard !host.isEmpty, !host.utf8.contains(where: { $0 <= 0x20 }) else { throw InvalidAuthority() }
        return .request(head, authority: host)
    }

    /// A CONNECT from an HTTP/1.1 client cannot go to an HTTP/2 upstream as it is.
    struct UnsendableConnect: Error, CustomStringConvertible {
        var description: String { "a CONNECT cannot go to an HTTP/2 upstream" }
    }

    /// A request without a `host` cannot name the `:authority` an HTTP/2 upstream needs.
    struct MissingAuthority: Error, CustomStringConvertible {
        var description: String { "no host to send as :authority" }
    }

    /// A request whose `host` is no authority (a space or a control character in it).
    struct InvalidAuthority: Error, CustomStringConvertible {
        var description: String { "the host is not an authority HTTP/2 can carry" }
    }

    /// An upstream reset the stream of a response that had not ended.
    struct StreamReset: Error, CustomStringConvertible {
        let code: HTTP2ErrorCode
        var description: String { "the upstream reset the stream (\(code))" }
    }

    /// A response head from an upstream's field block: `:status` first and alone among
    /// pseudo-fields, a three-digit code (§8.3.2). Hop-by-hop fields HTTP/2 still lets through
    /// (`proxy-authenticate`, `trailer`, ...) are dropped, as an HTTP/1.1 upstream's parser
    /// drops them (`te` too: it means nothing in a response): the head is the one to forward.
    static func responseHead(_ block: HTTP2ReceivedFields) throws(MalformedBlock) -> ResponseHead {
        var status: Int?
        var fields = FieldLines(capacity: 32 * block.count)
        var hopByHop = HopByHop.Tally()
        var sawField = false  // a dropped field counts: pseudo-fields come before every field
        try block.forEach { (name, value) throws(MalformedBlock) in
            guard name.first == UInt8(ascii: ":") else {
                try HTTP2FieldRules.checkField(name, value, request: false)
                sawField = true
                if hopByHop.keep(name: name, value: value) { fields.appendChecked(name: name, value: value) }
                return
            }
            guard HeaderText.equals(name, ":status"), status == nil, !sawField
            else { throw .init("pseudo-field \(HTTP2FieldRules.printable(name)) out of place") }
            guard value.count == 3, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), value[0] >= UInt8(ascii: "1")
            else { throw .init(":status is not a three-digit code") }
            status = value.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        }
        guard let status else { throw .init("no :status") }
        hopByHop.dropListed(from: &fields)
        return ResponseHead(version: .http2, status: HTTPResponseStatus(statusCode: status), fields: fields)
    }

    /// A response head's field block: `:status`, then its fields with names in lower case
    /// (HTTP/1.1 upstreams send them in any case, and HTTP/2 allows only lower).
    static func responseBlock(_ head: ResponseHead) -> HTTP2FieldBlock {
        .response(head)
    }

    /// A trailer section's field block, names in lower case.
    static func trailerBlock(_ trailers: HTTPHeaders) -> HTTP2FieldBlock {
        .trailers(trailers)
    }
}

/// A field block the proxy sends, kept as the head it is made from until it is encoded, in
/// the order blocks go out (no list of fields is built in between).
enum HTTP2FieldBlock {
    /// A checked request head and its authority (``HTTP2Fields/requestBlock(_:)``).
    case request(RequestHead, authority: String)
    /// A response head.
    case response(ResponseHead)
    /// A trailer section.
    case trailers(HTTPHeaders)

    /// Appends the block's fields to `buffer`, a block `encoder` began.
    func append(to buffer: inout ByteBuffer) {
        switch self {
        case .request(let head, let authority):
            HTTP2FieldEncoder.appendRequestLine(method: head.method.rawValue, authority: authority, path: head.uri, to: &buffer)
            head.fields.forEach { name, value in
                // Without `host` (it became `:authority`), and with `te` only as `te: trailers`,
                // the one form HTTP/2 allows (an HTTP/1.1 client may have written `TE: Trailers`).
                if HeaderText.equalsIgnoringCase(name, "host") { return }
                if HeaderText.equalsIgnoringCase(name, "te") {
                    if HeaderText.equalsIgnoringCase(value, "trailers") { HTTP2FieldEncoder.append(name: "te", value: "trailers", to: &buffer) }
                    return
                }
                HTTP2FieldEncoder.append(name: name, value: value, to: &buffer)
            }
        case .response(let head):
            HTTP2FieldEncoder.appendStatus(Int(head.status.code), to: &buffer)
            head.fields.forEach { name, value in HTTP2FieldEncoder.append(name: name, value: value, to: &buffer) }
        case .trailers(let trailers):
            Self.appendLowercased(trailers, to: &buffer)
        }
    }

    /// Appends `headers` with their names in lower case.
    private static func appendLowercased(_ headers: HTTPHeaders, to buffer: inout ByteBuffer) {
        for (name, value) in headers { HTTP2FieldEncoder.append(name: name, value: value, to: &buffer) }
    }
}
