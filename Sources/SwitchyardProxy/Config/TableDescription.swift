import SwitchyardCore

extension RoutingTable {
    /// The table as `switchyard check` prints it: each parent, route, rule, backend and
    /// endpoint with its metadata, who resolved it, and each backend's balancer.
    public var summary: String {
        var lines: [String] = ["plugins:"]
        for plugin in registry.plugins {
            let generation = plugin.generation > 1 ? " generation \(plugin.generation)" : ""
            lines.append("  \(plugin.name) \(plugin.version) (ABI \(plugin.abiMajor).\(plugin.abiMinor)) \(plugin.file)\(generation)")
        }
        let limits = config.limits
        let timeouts = config.timeouts
        lines.append("limits: connections=\(limits.connections) requestHeaders=\(limits.requestHeaders)")
        lines.append(
            "timeouts: requestHeader=\(DurationText.format(timeouts.requestHeader)) keepAlive=\(DurationText.format(timeouts.keepAlive)) "
                + "requestBodyIdle=\(DurationText.format(timeouts.requestBodyIdle)) upstreamIdle=\(DurationText.format(timeouts.upstreamIdle))")
        lines.append("built in: " + BuiltInLimits.described.map { "\($0.name)=\($0.value)" }.joined(separator: " "))
        lines.append("services:")
        for service in services {
            let p = service.policy
            lines.append("  \(p.authority) [\(p.proto.rawValue)] \(p.parent) via \(service.resolvedBy)")
            if let accrual = service.failureAccrual {
                lines.append("    failureAccrual: consecutive maxFailures=\(accrual.maxFailures) minPenalty=\(DurationText.format(accrual.minPenalty)) maxPenalty=\(DurationText.format(accrual.maxPenalty)) jitter=\(accrual.jitter)")
            }
            for route in p.routes {
                lines.append("    route \(route.route) timeouts: \(describe(route.timeouts))")
                for (i, rule) in route.rules.enumerated() {
                    lines.append("      rule \(i): \(describe(rule.matches)) distribution=\(rule.distribution.rawValue)\(rule.filters.isEmpty ? "" : " filters=\(rule.filters.count)")")
                    for backend in rule.backends {
                        switch backend.target {
                        case .backend(let index):
                            lines.append("        → \(backends[index].authority) weight=\(backend.weight) \(backend.backend)")
                        case .fail(let message):
                            lines.append("        → fail \"\(message)\" weight=\(backend.weight) \(backend.backend)")
                        }
                    }
                }
            }
        }
        lines.append("backends:")
        for backend in backends {
            lines.append("  \(backend.authority) \(backend.backend) via \(backend.resolvedBy)")
            lines.append("    balancer: \(backend.balancer.name) \(backend.balancerConfig) (defaultRtt=\(DurationText.format(backend.loadModel.defaultRtt)) decay=\(DurationText.format(backend.loadModel.decay)))\(backend.hashHeader.map { " hash=header:\($0)" } ?? "")")
            lines.append("    queue: capacity=\(backend.queueCapacity) failfastTimeout=\(DurationText.format(backend.failfastTimeout)); upstream \(backend.proto == .http1 ? "HTTP/1.1" : "HTTP/2")")
            if let discovery = backend.discovery {
                lines.append(
                    "    discovery: \(discovery.config.name) \(discovery.config.config) from \(discovery.definition.context.name) (initialFetchTimeout=\(DurationText.format(discovery.config.initialFetchTimeout)) staleAfter=\(DurationText.format(discovery.config.staleAfter))); endpoints as it finds them")
            }
            for endpoint in backend.endpoints {
                lines.append("    endpoint \(endpoint.address) weight=\(endpoint.weight) \(endpoint.endpoint) via \(endpoint.resolvedBy)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `request=off response=2s idle=1m`.
    func describe(_ timeouts: RouteTimeouts) -> String {
        func bound(_ value: Duration?) -> String { value.map { DurationText.format($0) } ?? "off" }
        return "request=\(bound(timeouts.request)) response=\(bound(timeouts.response)) idle=\(bound(timeouts.idle))"
    }

    /// One line for a rule's matches (`match path prefix /api, header x-canary 1`).
    func describe(_ matches: RuleMatches) -> String {
        switch matches {
        case .http(let matches) where matches.isEmpty: return "match prefix /"
        case .grpc(let matches) where matches.isEmpty: return "match any rpc"
        case .http(let matches):
            return matches.map { m in
                var parts = ["path \(m.path)"]
                parts += m.headers.map { "header \($0.name) \($0.value)" }
                parts += m.queryParameters.map { "query \($0.name) \($0.value)" }
                if let method = m.method { parts.append("method \(method)") }
                return "match " + parts.joined(separator: ", ")
            }.joined(separator: " | ")
        case .grpc(let matches):
            return matches.map { m in
                var parts = ["rpc \(m.service ?? "*")/\(m.method ?? "*")"]
                parts += m.headers.map { "header \($0.name) \($0.value)" }
                return "match " + parts.joined(separator: ", ")
            }.joined(separator: " | ")
        }
    }
}
