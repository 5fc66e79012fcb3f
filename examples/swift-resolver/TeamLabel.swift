import SwitchyardPluginKit

/// `team-label`: an endpoint resolver that places endpoints by the team that runs them.
///
/// An endpoint labelled `team: payments` (and optionally `dst_namespace: prod`) answers
/// `Resource(<group>, Team, prod, payments, port <endpoint port>)`; without a `team` label it
/// is not mine, so the chain moves on (put it before `k8s-pod-labels` to prefer teams).
///
/// Config: `group` (default `example.switchyard.dev`), the API group of the answers.
struct TeamLabel: EndpointResolver {
    static let name = "team-label"
    static let summary = "Team <team> from the endpoint's `team` label (Swift example)"

    let group: String

    init(config: PluginConfig) throws(PluginConfigError) {
        group = try config.string("group", default: "example.switchyard.dev")
        guard !group.isEmpty else { throw PluginConfigError(key: "group", message: "must not be empty") }
    }

    func resolve(endpoint query: EndpointQuery) -> Meta? {
        guard let team = query.labels["team"], !team.isEmpty else { return nil }
        return .resource(group: group, kind: "Team", namespace: query.labels["dst_namespace"] ?? "", name: team, port: query.port)
    }
}

/// The plugin's only exported symbol.
@_cdecl("switchyard_plugin_entry_v1")
public func switchyardPluginEntry(_ host: PluginHostHandle) -> PluginDescriptorHandle {
    PluginExport.entry(host: host, name: "example-team-resolver", version: "1.0.0", resolvers: [TeamLabel.self])
}
