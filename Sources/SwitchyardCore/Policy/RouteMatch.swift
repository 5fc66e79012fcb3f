/// The parts of a request routing looks at. The data path adapts its request head to this, so
/// matching stays free of networking types.
public protocol RoutableRequest {
    /// The method, e.g. `GET`.
    var method: String { get }
    /// The path without the query, e.g. `/api/users`.
    var path: Substring { get }
    /// The query without `?`, e.g. `a=1&b=2` (empty when there is none).
    var query: Substring { get }
    /// The first value of header `name` (case-insensitive), if present.
    func header(_ name: String) -> String?
}

extension RoutableRequest {
    /// The value of query parameter `name` (the first occurrence), if present.
    public func queryParameter(_ name: String) -> Substring? {
        for pair in query.split(separator: "&") {
            let key = pair.prefix { $0 != "=" }
            if key == name { return pair.dropFirst(key.count + (key.count < pair.count ? 1 : 0)) }
        }
        return nil
    }
}

/// How a path, header value or query value must look.
public enum StringMatch: Sendable, CustomStringConvertible {
    /// Equal to this string.
    case exact(String)
    /// Matches this regular expression as a whole.
    case regex(RegexPattern)

    /// Whether `value` matches.
    public func matches(_ value: some StringProtocol) -> Bool {
        switch self {
        case .exact(let expected): return value == expected
        case .regex(let pattern): return pattern.wholeMatches(String(value))
        }
    }

    /// `exact "x"` or `regex "x"`.
    public var description: String {
        switch self {
        case .exact(let s): "exact \"\(s)\""
        case .regex(let p): "regex \"\(p.source)\""
        }
    }
}

/// A compiled regular expression and its source text.
public struct RegexPattern: @unchecked Sendable {
    // Regex is immutable once compiled; matching does not mutate it.
    private let regex: Regex<AnyRegexOutput>
    /// The pattern as written.
    public let source: String

    /// Compiles `source`.
    /// - Throws: the compiler's error when it is not a valid pattern.
    public init(_ source: String) throws {
        self.regex = try Regex(source)
        self.source = source
    }

    /// Whether the whole of `value` matches.
    public func wholeMatches(_ value: String) -> Bool {
        (try? regex.wholeMatch(in: value)) != nil
    }
}

/// How a request path must look.
public enum PathMatch: Sendable, CustomStringConvertible {
    /// Exactly this path.
    case exact(String)
    /// This prefix, on a segment boundary (`/api` matches `/api` and `/api/x`, not `/apix`).
    case prefix(String)
    /// The whole path matches this expression.
    case regex(RegexPattern)

    /// Whether `path` matches. Exact and prefix matches compare bytes, as Envoy's do: a path
    /// on the wire is bytes, and Unicode equivalence would let two spellings of it match.
    public func matches(_ path: Substring) -> Bool {
        switch self {
        case .exact(let p): return path.utf8.elementsEqual(p.utf8)
        case .prefix(let p):
            let path = path.utf8
            let prefix = p.utf8
            guard path.starts(with: prefix) else { return false }
            if prefix.last == UInt8(ascii: "/") || path.count == prefix.count { return true }
            return path[path.index(path.startIndex, offsetBy: prefix.count)] == UInt8(ascii: "/")
        case .regex(let pattern): return pattern.wholeMatches(String(path))
        }
    }

    /// Precedence rank as linkerd orders path matches: exact over regex over prefix, then the
    /// longer (path, pattern or prefix) first.
    var rank: (kind: Int, length: Int) {
        switch self {
        case .exact(let p): (2, p.count)
        case .regex(let r): (1, r.source.count)
        case .prefix(let p): (0, p.count)
        }
    }

    /// `exact /x`, `prefix /x` or `regex /x`.
    public var description: String {
        switch self {
        case .exact(let p): "exact \(p)"
        case .prefix(let p): "prefix \(p)"
        case .regex(let r): "regex \(r.source)"
        }
    }
}

/// A named header or query parameter and how its value must look.
public struct ValueMatch: Sendable {
    /// Header or parameter name (headers are matched case-insensitively).
    public let name: String
    /// How the value must look.
    public let value: StringMatch

    /// Creates a match.
    public init(name: String, value: StringMatch) {
        self.name = name
        self.value = value
    }
}

/// One HTTP match of a rule (DESIGN.md §6): all its parts must hold.
public struct HTTPRouteMatch: Sendable {
    /// The path (a rule without matches matches prefix `/`).
    public var path: PathMatch
    /// Headers that must be present and match.
    public var headers: [ValueMatch]
    /// Query parameters that must be present and match.
    public var queryParameters: [ValueMatch]
    /// The method, if the match names one.
    public var method: String?

    /// Creates a match; the defaults match every request.
    public init(path: PathMatch = .prefix("/"), headers: [ValueMatch] = [], queryParameters: [ValueMatch] = [], method: String? = nil) {
        self.path = path
        self.headers = headers
        self.queryParameters = queryParameters
        self.method = method
    }

    /// Whether every request satisfies it: prefix `/` and nothing else.
    var matchesEverything: Bool {
        guard case .prefix("/") = path else { return false }
        return headers.isEmpty && queryParameters.isEmpty && method == nil
    }

    /// Whether `request` satisfies every part.
    public func matches(_ request: some RoutableRequest) -> Bool {
        if let method, method != request.method { return false }
        guard path.matches(request.path) else { return false }
        for header in headers {
            guard let value = request.header(header.name), header.value.matches(value) else { return false }
        }
        for parameter in queryParameters {
            guard let value = request.queryParameter(parameter.name), parameter.value.matches(value) else { return false }
        }
        return true
    }

    /// Precedence key: larger wins (DESIGN.md §6).
    public var precedence: MatchPrecedence {
        let rank = path.rank
        return MatchPrecedence([rank.kind, rank.length, headers.count, queryParameters.count, method == nil ? 0 : 1])
    }
}

/// One gRPC match: an RPC (`POST /service/method`) and headers.
public struct GRPCRouteMatch: Sendable {
    /// The fully qualified service, e.g. `helloworld.Greeter`; nil matches any.
    public var service: String?
    /// The method, e.g. `SayHello`; nil matches any.
    public var method: String?
    /// Headers that must be present and match.
    public var headers: [ValueMatch]

    /// Creates a match; the defaults match every RPC.
    public init(service: String? = nil, method: String? = nil, headers: [ValueMatch] = []) {
        self.service = service
        self.method = method
        self.headers = headers
    }

    /// Whether `request` is a matching RPC: a POST to `/service/method` (the method is what
    /// follows the second `/`). Names compare as bytes.
    public func matches(_ request: some RoutableRequest) -> Bool {
        guard request.method == "POST" else { return false }
        let path = request.path.utf8
        guard path.first == UInt8(ascii: "/") else { return false }
        let serviceStart = path.index(after: path.startIndex)
        guard let slash = path[serviceStart...].firstIndex(of: UInt8(ascii: "/")) else { return false }
        if let service, !path[serviceStart..<slash].elementsEqual(service.utf8) { return false }
        if let method, !path[path.index(after: slash)...].elementsEqual(method.utf8) { return false }
        for header in headers {
            guard let value = request.header(header.name), header.value.matches(value) else { return false }
        }
        return true
    }

    /// Precedence key: service-name length, method-name length, header count.
    public var precedence: MatchPrecedence {
        MatchPrecedence([service?.count ?? 0, method?.count ?? 0, headers.count])
    }
}

/// A lexicographically ordered precedence key.
public struct MatchPrecedence: Comparable, Sendable {
    let parts: [Int]
    init(_ parts: [Int]) { self.parts = parts }

    public static func < (lhs: MatchPrecedence, rhs: MatchPrecedence) -> Bool {
        lhs.parts.lexicographicallyPrecedes(rhs.parts)
    }
}
