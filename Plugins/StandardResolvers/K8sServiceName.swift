import SwitchyardPluginKit

/// `k8s-service-name`: reads a Kubernetes Service out of a cluster DNS name (DESIGN.md §4).
///
/// `<name>.<ns>.svc[.<anything>]:<port>`, where the third label is `svc` in any case, answers
/// `Resource(core, Service, <ns>, <name>, port <port>)`. Anything else is not mine.
struct K8sServiceName: ServiceResolver {
    static let name = "k8s-service-name"
    static let summary = "Service <name>.<ns> from a <name>.<ns>.svc[.<zone>]:<port> authority"

    init(config: PluginConfig) {}

    func resolve(service query: ServiceQuery) -> Meta? {
        guard query.port > 0 else { return nil }
        let labels = query.host.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 3, labels[2].lowercased() == "svc", !labels[0].isEmpty, !labels[1].isEmpty else { return nil }
        return .resource(group: "core", kind: "Service", namespace: String(labels[1]), name: String(labels[0]), port: query.port)
    }
}
