import NIOHTTP1
import SwitchyardCore

/// What the proxy checks of a request head before routing it (RFC 9112 §3.2 and §6.1, RFC 9113
/// §8.3.1, RFC 9110 §8.6): one authority, one well-formed length, a bounded header count. A
/// request that fails is answered 400 (431 for too many headers, 501 for a transfer coding
/// other than chunked) and never reaches an upstream; its connection closes.
enum RequestValidation {
    /// What validation learnt of a head, so routing need not search its fields again.
    struct Valid {
        /// How its body is framed.
        var framing: RequestBodyFraming
        /// Its `host` (nil only for an HTTP/1.0 request without one).
        var host: String?
        /// Whether it has an `expect` field.
        var hasExpect: Bool
    }

    /// Checks `head` against `maxHeaders` and makes it the head to route (an absolute-form
    /// target rewritten to origin form, a repeated identical HTTP/2 `host` folded); returns
    /// what it learnt, or the answer. One pass over the fields where they lie and no copy of
    /// the head; the one String made is the `Host` value (held inline up to 15 bytes).
    static func validate(_ head: inout RequestHead, maxHeaders: Int) -> Result<Valid, SyntheticError> {
        var fields = 0
        var host: String?
        var hosts = 0
        var hostsDiffer = false
        var hasLength = false
        var hasCoding = false
        var codings = 0  // elements of every `transfer-encoding`
        var codingIsChunked = false  // whether the first is `chunked`
        var hasExpect = false
        head.fields.forEach { name, value in
            fields += 1
            if HeaderText.equalsIgnoringCase(name, "host") {
                hosts += 1
                if var host {
                    // Host names are case-insensitive (an HTTP/2 `:authority` and `host` may differ so).
                    if !host.withUTF8({ HeaderText.equalsIgnoringCase(value, anyCase: $0) }) { hostsDiffer = true }
                } else {
                    host = String(decoding: value, as: UTF8.self)
                }
            } else if HeaderText.equalsIgnoringCase(name, "content-length") {
                hasLength = true
            } else if HeaderText.equalsIgnoringCase(name, "transfer-encoding") {
                hasCoding = true
                Self.forEachCoding(in: value) { coding in
                    if codings == 0 { codingIsChunked = HeaderText.equalsIgnoringCase(coding, "chunked") }
                    codings += 1
                }
            } else if HeaderText.equalsIgnoringCase(name, "expect") {
                hasExpect = true
            }
        }
        if fields > maxHeaders {
            return .failure(.invalidRequest(.requestHeaderFieldsTooLarge, "too many request headers (more than \(maxHeaders))"))
        }
        switch hosts {
        case 0 where head.version == .http1_0:
            break
        case 0:
            return .failure(.invalidRequest(.badRequest, "missing Host header"))
        case 1:
            break
        default:
            // HTTP/2 may carry `:authority` and an identical `host`; HTTP/1.1 may not repeat it.
            guard head.version.major >= 2, !hostsDiffer else {
                return .failure(.invalidRequest(.badRequest, "more than one Host header"))
            }
            var first = true  // the first stays where it is (`:authority`'s, when it came)
            head.fields.removeAll { name in
                guard HeaderText.equalsIgnoringCase(name, "host") else { return false }
                defer { first = false }
                return !first
            }
        }
        if head.uri.utf8.first != UInt8(ascii: "/"), let target = AbsoluteTarget(head.uri) {
            guard let host, target.names(host) else {
                return .failure(.invalidRequest(.badRequest, "Host does not match the request target's authority"))
            }
            head.uri = target.originForm
        }
        if hasCoding {
            // RFC 9112 §6.1: both lengths is a smuggling attempt as often as not; and the one
            // coding the proxy decodes (and re-frames) is chunked alone (RFC 9112 §6.1: 501).
            if hasLength {
                return .failure(.invalidRequest(.badRequest, "both Content-Length and Transfer-Encoding"))
            }
            // Bytes, not Unicode: "chunKed" with a Kelvin sign (U+212A) lowercases to
            // "chunked", and the parser, which frames the body, reads bytes.
            guard codings == 1, codingIsChunked else {
                return .failure(.invalidRequest(.notImplemented, "unsupported Transfer-Encoding (only chunked is)"))
            }
        }
        guard let framing = hasLength || hasCoding ? RequestBodyFraming(clientHead: head) : .unframed(head.version) else {
            return .failure(.invalidRequest(.badRequest, "malformed Content-Length"))
        }
        return .success(Valid(framing: framing, host: host, hasExpect: hasExpect))
    }

    /// Calls `body` with each element of a `transfer-encoding` list: the pieces between commas
    /// that are not empty, without spaces and tabs around them (a piece of spaces alone is one).
    private static func forEachCoding(in list: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        var start = 0
        while start <= list.count {
            let end = HTTP1MessageReader.index(of: UInt8(ascii: ","), in: list, from: start) ?? list.count
            if end > start {
                var (from, to) = (start, end)
                while from < to, HTTP1MessageReader.isSpace(list[from]) { from += 1 }
                while to > from, HTTP1MessageReader.isSpace(list[to - 1]) { to -= 1 }
                body(UnsafeRawBufferPointer(rebasing: list[from..<to]))
            }
            start = end + 1
        }
    }
}

/// An absolute-form request target (`http://host:port/path?query`, RFC 9112 §3.2.2).
struct AbsoluteTarget {
    let scheme: String
    let authority: Substring
    let originForm: String

    init?(_ uri: String) {
        guard let colon = uri.firstIndex(of: ":"), uri[colon...].hasPrefix("://") else { return nil }
        let scheme = uri[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let rest = uri[uri.index(colon, offsetBy: 3)...]
        let pathStart = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        self.scheme = scheme
        authority = rest[..<pathStart]
        let path = rest[pathStart...]
        originForm = path.hasPrefix("/") ? String(path) : "/" + path
    }

    /// Whether `host` (a Host header) names the same authority, default ports applied.
    func names(_ host: String) -> Bool {
        let defaultPort: UInt16 = scheme == "https" ? 443 : 80
        guard let mine = try? Authority(parsing: authority.lowercased(), defaultPort: defaultPort),
            let theirs = try? Authority(parsing: host.lowercased(), defaultPort: defaultPort)
        else { return false }
        return mine == theirs
    }
}
