import SwitchyardCore
import SwitchyardPluginHost

extension PluginRegistry {
    /// `/plugins`: each loaded file, its ABI version, name and version, and its resolvers and
    /// balancers with their fault counts.
    var pluginsJSON: JSONValue {
        .object([
            (
                "plugins",
                .array(
                    plugins.map { plugin in
                        func implementation(_ name: String, _ summary: String, _ faults: FaultRecord) -> JSONValue {
                            .object([("name", .string(name)), ("summary", .string(summary)), ("faults", .number(Double(faults.count)))])
                        }
                        return .object([
                            ("file", .string(plugin.file)),
                            ("name", .string(plugin.name)),
                            ("version", .string(plugin.version)),
                            ("abi", .string("\(plugin.abiMajor).\(plugin.abiMinor)")),
                            // The build of the file this table uses; every earlier one stays mapped.
                            ("generation", .number(Double(plugin.generation))),
                            ("resolvers", .array(plugin.resolvers.map { implementation($0.name, $0.summary, $0.faults) })),
                            ("balancers", .array(plugin.balancers.map { implementation($0.name, $0.summary, $0.faults) })),
                            ("discoveries", .array(plugin.discoveries.map { implementation($0.name, $0.summary, $0.faults) })),
                            ("faults", .number(Double(plugin.faults))),
                        ])
                    })
            )
        ])
    }
}

extension RoutingTable {
    /// A discovered backend as it is now: its live endpoints and its source's state.
    typealias LiveBackend = (endpoints: [Endpoint], discovery: JSONValue)

    /// `/config`: the active resolved table, as `switchyard check` prints it, in JSON. A
    /// discovered backend shows `live(index)`'s endpoints and state when given (the proxy
    /// serving), none before.
    func json(live: (Int) -> LiveBackend? = { _ in nil }) -> JSONValue {
        .object([
            ("admin", .string(config.admin.description)),
            ("listen", .string(config.listen.description)),
            ("plugins", .array(registry.plugins.map { .string($0.file) })),
            (
                "resolvers",
                .object([
                    ("services", .array(config.serviceResolvers.map(JSONValue.string))),
                    ("endpoints", .array(config.endpointResolvers.map(JSONValue.string))),
                ])
            ),
            ("limits", .object([("connections", .number(Double(config.limits.connections))), ("requestHeaders", .number(Double(config.limits.requestHeaders)))])),
            (
                "timeouts",
                .object([
                    ("requestHeader", .string(DurationText.format(config.timeouts.requestHeader))),
                    ("keepAlive", .string(DurationText.format(config.timeouts.keepAlive))),
                    ("requestBodyIdle", .string(DurationText.format(config.timeouts.requestBodyIdle))),
                    ("upstreamIdle", .string(DurationText.format(config.timeouts.upstreamIdle))),
                ])
            ),
            (
                "accessLog",
                config.accessLog.map { .object([("path", .string($0.destination.description)), ("format", .string($0.format.rawValue))]) } ?? .null
            ),
            ("builtInLimits", .object(BuiltInLimits.described.map { ($0.name, .string($0.value)) })),
            ("services", .array(services.map(json))),
            ("backends", .array(backends.enumerated().map { json($1, live: live($0)) })),
        ])
    }

    private func json(_ service: Service) -> JSONValue {
        let policy = service.policy
        return .object([
            ("authority", .string(policy.authority.description)),
            ("protocol", .string(policy.proto.rawValue)),
            ("metadata", Self.json(policy.parent.meta)),
            ("resolvedBy", .string(service.resolvedBy)),
            ("failureAccrual", service.failureAccrual.map(Self.json) ?? .null),
            (
                "routes",
                .array(
                    policy.routes.map { route in
                        .object([
                            ("metadata", Self.json(route.route.meta)),
                            ("timeouts", Self.json(route.timeouts)),
                            ("rules", .array(route.rules.map(json))),
                        ])
                    })
            ),
        ])
    }

    private func json(_ rule: RouteRule) -> JSONValue {
        .object([
            ("matches", .string(describe(rule.matches))),
            ("filters", .number(Double(rule.filters.count))),
            ("distribution", .string(rule.distribution.rawValue)),
            (
                "backends",
                .array(
                    rule.backends.map { backend in
                        let target: (String, JSONValue) =
                            switch backend.target {
                            case .backend(let index): ("service", .string(backends[index].authority.description))
                            case .fail(let message): ("fail", .string(message))
                            }
                        return .object([target, ("weight", .number(Double(backend.weight))), ("metadata", Self.json(backend.backend.meta))])
                    })
            ),
        ])
    }

    private func json(_ backend: Backend, live: LiveBackend?) -> JSONValue {
        let balancerConfig = (try? JSONValue(parsing: backend.balancerConfig)) ?? .string(backend.balancerConfig)
        return .object([
            ("authority", .string(backend.authority.description)),
            ("metadata", Self.json(backend.backend.meta)),
            ("resolvedBy", .string(backend.resolvedBy)),
            (
                "balancer",
                .object([
                    ("name", .string(backend.balancer.name)),
                    ("config", balancerConfig),
                    ("defaultRtt", .string(DurationText.format(backend.loadModel.defaultRtt))),
                    ("decay", .string(DurationText.format(backend.loadModel.decay))),
                ])
            ),
            ("hashHeader", backend.hashHeader.map(JSONValue.string) ?? .null),
            (
                "queue",
                .object([
                    ("capacity", .number(Double(backend.queueCapacity))),
                    ("failfastTimeout", .string(DurationText.format(backend.failfastTimeout))),
                ])
            ),
            ("upstreamProtocol", .string(backend.proto == .http1 ? "http1" : "http2")),
            ("failureAccrual", backend.failureAccrual.map(Self.json) ?? .null),
            (
                "discovery",
                backend.discovery.map { discovery in
                    var members: [(key: String, value: JSONValue)] = [
                        ("name", .string(discovery.config.name)),
                        ("config", (try? JSONValue(parsing: discovery.config.config)) ?? .string(discovery.config.config)),
                        ("initialFetchTimeout", .string(DurationText.format(discovery.config.initialFetchTimeout))),
                        ("staleAfter", .string(DurationText.format(discovery.config.staleAfter))),
                    ]
                    if case .object(let status) = live?.discovery { members += status.filter { $0.key != "name" } }
                    return .object(members)
                } ?? .null
            ),
            (
                "endpoints",
                .array(
                    (live?.endpoints ?? backend.endpoints).map { endpoint in
                        .object([
                            ("address", .string(endpoint.address.description)),
                            ("weight", .number(Double(endpoint.weight))),
                            ("metadata", Self.json(endpoint.endpoint.meta)),
                            ("resolvedBy", .string(endpoint.resolvedBy)),
                        ])
                    })
            ),
        ])
    }

    /// A route's timeouts; an unset bound is null (off).
    private static func json(_ timeouts: RouteTimeouts) -> JSONValue {
        func bound(_ value: Duration?) -> JSONValue { value.map { .string(DurationText.format($0)) } ?? .null }
        return .object([("request", bound(timeouts.request)), ("response", bound(timeouts.response)), ("idle", bound(timeouts.idle))])
    }

    private static func json(_ meta: Meta) -> JSONValue {
        .object([
            ("group", .string(meta.group)), ("kind", .string(meta.kind)), ("namespace", .string(meta.namespace)),
            ("name", .string(meta.name)), ("section", .string(meta.section)),
            ("port", meta.port.map { .number(Double($0)) } ?? .null),
        ])
    }

    private static func json(_ policy: FailureAccrualPolicy) -> JSONValue {
        .object([
            (
                "consecutive",
                .object([
                    ("maxFailures", .number(Double(policy.maxFailures))),
                    ("minPenalty", .string(DurationText.format(policy.minPenalty))),
                    ("maxPenalty", .string(DurationText.format(policy.maxPenalty))),
                    ("jitter", .number(policy.jitter)),
                ])
            )
        ])
    }
}
