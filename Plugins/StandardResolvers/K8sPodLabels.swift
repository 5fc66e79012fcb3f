import SwitchyardPluginKit

/// `k8s-pod-labels`: reads a Kubernetes Pod out of an endpoint's `dst_namespace` and `dst_pod`
/// labels, the ones a Linkerd destination controller attaches (DESIGN.md §4).
///
/// Both labels: `Resource(core, Pod, <dst_namespace>, <dst_pod>, port <endpoint port>)`.
/// Only `dst_namespace`: it keeps what it knows, a Pod in that namespace named `unknown`.
/// Neither: not mine.
struct K8sPodLabels: EndpointResolver {
    static let name = "k8s-pod-labels"
    static let summary = "Pod <dst_pod> in <dst_namespace> from the endpoint's labels"

    init(config: PluginConfig) {}

    func resolve(endpoint query: EndpointQuery) -> Meta? {
        guard let namespace = query.labels["dst_namespace"], !namespace.isEmpty else { return nil }
        let pod = query.labels["dst_pod"].flatMap { $0.isEmpty ? nil : $0 } ?? "unknown"
        return .resource(group: "core", kind: "Pod", namespace: namespace, name: pod, port: query.port)
    }
}
