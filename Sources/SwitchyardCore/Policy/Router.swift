/// Chooses the rule of a service a request takes (DESIGN.md §6), with every precedence key
/// computed when the table is built, so a request only walks the candidates.
public struct Router: Sendable {
    /// A place in the service's routes.
    public struct Selection: Hashable, Sendable {
        /// Index of the route.
        public let route: Int
        /// Index of the rule within the route.
        public let rule: Int
    }

    private enum Candidate: Sendable {
        case http(HTTPRouteMatch)
        case grpc(GRPCRouteMatch)
    }

    /// Candidates in precedence order: highest first, config order among equals.
    private let candidates: [(candidate: Candidate, selection: Selection)]
    /// The selection every request with a path takes, when the first candidate matches them
    /// all (a service whose one rule has no matches, the common default route): routing then
    /// looks at nothing else of the request.
    private let catchAll: Selection?

    /// Builds the router of `routes`.
    public init(routes: [RoutePolicy]) {
        var entries: [(candidate: Candidate, precedence: MatchPrecedence, order: Int, selection: Selection)] = []
        for (routeIndex, route) in routes.enumerated() {
            for (ruleIndex, rule) in route.rules.enumerated() {
                let selection = Selection(route: routeIndex, rule: ruleIndex)
                switch rule.matches {
                case .http(let matches):
                    for match in matches.isEmpty ? [HTTPRouteMatch()] : matches {
                        entries.append((.http(match), match.precedence, entries.count, selection))
                    }
                case .grpc(let matches):
                    for match in matches.isEmpty ? [GRPCRouteMatch()] : matches {
                        entries.append((.grpc(match), match.precedence, entries.count, selection))
                    }
                }
            }
        }
        entries.sort { $0.precedence != $1.precedence ? $0.precedence > $1.precedence : $0.order < $1.order }
        candidates = entries.map { ($0.candidate, $0.selection) }
        if case .http(let first) = entries.first?.candidate, first.matchesEverything {
            catchAll = entries.first?.selection
        } else {
            catchAll = nil
        }
    }

    /// The rule `request` takes, or nil for "no route".
    public func route(_ request: some RoutableRequest) -> Selection? {
        route(pathStart: request.path.utf8.first, request)
    }

    /// The rule `request` takes, or nil for "no route", where `pathStart` is its path's first
    /// byte: the request is made only when that is not enough (the catch-all needs no more).
    public func route<Request: RoutableRequest>(pathStart: UInt8?, _ request: @autoclosure () -> Request) -> Selection? {
        if let catchAll, pathStart == UInt8(ascii: "/") { return catchAll }
        let request = request()
        for (candidate, selection) in candidates {
            switch candidate {
            case .http(let match): if match.matches(request) { return selection }
            case .grpc(let match): if match.matches(request) { return selection }
            }
        }
        return nil
    }
}
