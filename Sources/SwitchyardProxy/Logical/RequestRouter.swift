import NIOHTTP1
import SwitchyardCore

/// One event loop's router (DESIGN.md §2 steps 2-5): takes a request head and decides what
/// becomes of it, as a ``RouteDecision``. It validates the head, finds the service its
/// authority names, the rule its router picks, applies the rule's filters and draws a route
/// backend from the rule's distribution. Owned by one loop's ``LoopState``: no locks, and its
/// random numbers are the loop's own.
final class RequestRouter {
    /// A service as this loop routes it.
    final class Service {
        let parent: ParentRef
        let isGRPC: Bool
        let router: Router
        /// Routes in config order; each rule's route backends are this loop's targets.
        let routes: [Route]

        init(parent: ParentRef, isGRPC: Bool, router: Router, routes: [Route]) {
            self.parent = parent
            self.isGRPC = isGRPC
            self.router = router
            self.routes = routes
        }
    }

    struct Route {
        let timeouts: RouteTimeouts
        let rules: [Rule]
    }

    struct Rule {
        let filters: [RouteFilter]
        let distribution: Distribution
        let targets: [RouteBackendTarget]
    }

    private let services: [Authority: Service]
    private let maxHeaders: Int
    private var random: Xoshiro256
    /// Host header values seen lately and the service each named (parsing an authority
    /// costs); cleared when it reaches ``hostCacheLimit``.
    private var hostCache: [String: Service?] = [:]
    /// The last Host looked up and its service: most traffic names one Host, and comparing
    /// two strings is cheaper than hashing one.
    private var lastHost: (host: String, service: Service?)?
    private static let hostCacheLimit = 1024

    /// The router of `table` for one loop, sending to that loop's `backends` (the table's, in
    /// order) and counting in `metrics`' series.
    init(table: RoutingTable, backends: [BackendRuntime], metrics: ProxyMetrics, random: Xoshiro256) {
        var services: [Authority: Service] = [:]
        for (service, serviceMetrics) in zip(table.services, metrics.routeBackends) {
            let routes = zip(service.policy.routes, serviceMetrics).map { route, routeMetrics in
                Route(
                    timeouts: route.timeouts,
                    rules: zip(route.rules, routeMetrics).map { rule, ruleMetrics in
                        Rule(
                            filters: rule.filters, distribution: rule.distribution,
                            targets: zip(rule.backends, ruleMetrics).map { backend, metrics in
                                let destination: RouteBackendTarget.Destination =
                                    switch backend.target {
                                    case .backend(let index): .backend(backends[index])
                                    case .fail(let message): .fail(message: message)
                                    }
                                return RouteBackendTarget(
                                    ref: backend.backend, route: route.route, weight: backend.weight, destination: destination, metrics: metrics)
                            })
                    })
            }
            services[service.policy.authority] = Service(
                parent: service.policy.parent, isGRPC: service.policy.proto == .grpc, router: service.router, routes: routes)
        }
        self.services = services
        self.maxHeaders = table.config.limits.requestHeaders
        self.random = random
    }

    /// What becomes of a request with head `received`.
    func route(_ received: RequestHead) -> RouteDecision {
        var head = received
        let valid: RequestValidation.Valid
        switch RequestValidation.validate(&head, maxHeaders: maxHeaders) {
        case .success(let validated): valid = validated
        case .failure(let refusal): return .answer(refusal, isGRPC: Self.asksForGRPC(received), closeConnection: true)
        }
        guard let service = service(named: valid.host) else {
            let message = "no service for authority \(valid.host ?? "(none)")"
            return .answer(.notFound(message), isGRPC: Self.asksForGRPC(head), closeConnection: false)
        }
        let isGRPC = service.isGRPC
        // A path starts with the target's first byte (an absolute form was made origin form); a
        // target without a leading `/` (`*`, `?q`) is not the catch-all's either way.
        guard let selection = service.router.route(pathStart: head.uri.utf8.first, RequestView(head)) else {
            return .answer(.notFound(service.parent.meta.describe(error: "no route")), isGRPC: isGRPC, closeConnection: false)
        }
        let route = service.routes[selection.route]
        let rule = route.rules[selection.rule]
        if let answer = RouteFilters.apply(rule.filters, to: &head, roll: { Double(random.next() >> 11) / Double(1 << 53) }) {
            return .answer(answer, isGRPC: isGRPC, closeConnection: false)
        }
        guard let target = choose(rule) else {
            return .answer(.noBackend(service.parent.meta.describe(error: "no backend available")), isGRPC: isGRPC, closeConnection: false)
        }
        target.countRequest()
        switch target.destination {
        case .fail(let message):
            let answer = SyntheticError.failBackend(target.ref.meta.describe(error: message))
            target.countResponse(status: -1, error: answer.cause)
            return .answer(answer, isGRPC: isGRPC, closeConnection: false)
        case .backend(let backend):
            // A filter may have added or removed one since validation.
            let mayExpect = valid.hasExpect || !rule.filters.isEmpty
            let expectsContinue = mayExpect && head.fields.first(name: "expect")?.lowercased() == "100-continue"
            if expectsContinue { head.fields.remove(name: "expect") }
            let timeouts = isGRPC ? GRPCTimeout.applying(head.fields.first(name: "grpc-timeout"), to: route.timeouts) : route.timeouts
            return .dispatch(
                RouteDispatch(
                    head: head, framing: valid.framing, target: target, backend: backend, isGRPC: isGRPC, timeouts: timeouts,
                    clientChoseDeadline: timeouts.request != route.timeouts.request, expectsContinue: expectsContinue))
        }
    }

    /// Whether a request no service claims should be answered in gRPC form.
    private static func asksForGRPC(_ head: RequestHead) -> Bool {
        head.fields.first(name: "content-type")?.hasPrefix("application/grpc") ?? false
    }

    /// The service a Host header names (port 80 when it has none).
    private func service(named host: String?) -> Service? {
        guard let host else { return nil }
        if let lastHost, lastHost.host == host { return lastHost.service }
        if let cached = hostCache[host] {
            lastHost = (host, cached)
            return cached
        }
        let service = (try? Authority(parsing: host.lowercased(), defaultPort: 80)).flatMap { services[$0] }
        if hostCache.count >= Self.hostCacheLimit { hostCache.removeAll(keepingCapacity: true) }
        hostCache[host] = service
        lastHost = (host, service)
        return service
    }

    /// The rule's distribution: weighted random among available route backends, or the first
    /// available. When none is available the choice ignores availability, so the request
    /// reaches a backend that sheds it with its own message; only an empty rule gives nil.
    private func choose(_ rule: Rule) -> RouteBackendTarget? {
        choose(rule, where: \.isAvailable) ?? choose(rule, where: { _ in true })
    }

    private func choose(_ rule: Rule, where eligible: (RouteBackendTarget) -> Bool) -> RouteBackendTarget? {
        switch rule.distribution {
        case .firstAvailable:
            return rule.targets.first(where: eligible)
        case .randomAvailable:
            var total = 0
            for target in rule.targets where eligible(target) { total += target.weight }
            guard total > 0 else { return nil }
            var point = random.next(below: total)
            for target in rule.targets where eligible(target) {
                if point < target.weight { return target }
                point -= target.weight
            }
            return nil
        }
    }
}
