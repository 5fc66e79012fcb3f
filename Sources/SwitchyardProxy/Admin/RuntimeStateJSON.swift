import SwitchyardCore

extension TableGeneration {
    /// `/state`'s view of the served table: each service with its routes and route backends,
    /// and each backend live: its balancer, whether it is in fail-fast, and every endpoint's
    /// breaker state. Refs read `group/kind/namespace/name:port`, as in the access log.
    var stateJSON: (services: JSONValue, backends: JSONValue) {
        func ref(_ meta: Meta) -> JSONValue { .string(AccessLogEntry.text(meta)) }
        let services: JSONValue = .array(
            table.services.map { service in
                .object([
                    ("authority", .string(service.policy.authority.description)),
                    ("parent", ref(service.policy.parent.meta)),
                    ("resolvedBy", .string(service.resolvedBy)),
                    ("protocol", .string(service.policy.proto.rawValue)),
                    (
                        "routes",
                        .array(
                            service.policy.routes.map { route in
                                .object([
                                    // Route series carry group, kind, namespace and name only (§8).
                                    ("route", .string(Self.routeText(route.route.meta))),
                                    (
                                        "backends",
                                        .array(
                                            route.rules.flatMap(\.backends).map { backend in
                                                let target: String =
                                                    switch backend.target {
                                                    case .backend(let index): table.backends[index].authority.description
                                                    case .fail: "fail"
                                                    }
                                                return .object([
                                                    ("backend", ref(backend.backend.meta)), ("weight", .number(Double(backend.weight))),
                                                    ("target", .string(target)),
                                                ])
                                            })
                                    ),
                                ])
                            })
                    ),
                ])
            })
        let backends: JSONValue = .array(
            zip(table.backends, shared).map { backend, shared in
                let snapshot = shared.snapshot
                return .object([
                    ("authority", .string(backend.authority.description)),
                    ("backend", ref(backend.backend.meta)),
                    ("resolvedBy", .string(backend.resolvedBy)),
                    ("balancer", .string(backend.balancer.name)),
                    ("failFast", .bool(shared.gate.isShut)),
                    ("discovery", shared.feed.map { feed in
                        guard case .object(let status) = feed.statusJSON else { return .null }
                        return .object(status.filter { $0.key == "name" || $0.key == "state" })
                    } ?? .null),
                    (
                        "endpoints",
                        .array(
                            zip(snapshot.endpoints, snapshot.healths).map { endpoint, health in
                                .object([
                                    ("address", .string(endpoint.address.description)),
                                    ("endpoint", ref(endpoint.endpoint.meta)),
                                    ("resolvedBy", .string(endpoint.resolvedBy)),
                                    ("state", .string(health?.stateName ?? "ready")),
                                ])
                            })
                    ),
                ])
            })
        return (services, backends)
    }
}

extension TableGeneration {
    /// A route ref as its metric labels name it: `group/kind/namespace/name` (no section or
    /// port: route series have no such labels), or `default/name`.
    static func routeText(_ meta: Meta) -> String {
        switch meta {
        case .default(let name): "default/\(name)"
        case .resource(let r): "\(r.group)/\(r.kind)/\(r.namespace)/\(r.name)"
        }
    }
}

extension BreakerEvents {
    /// The events as `/state` lists them, oldest first.
    var json: JSONValue {
        .array(
            all.map { event in
                .object([
                    ("time", .string(event.time)), ("backend", .string(event.backend)), ("endpoint", .string(event.endpoint)),
                    ("transition", .string(event.transition)),
                ])
            })
    }
}
