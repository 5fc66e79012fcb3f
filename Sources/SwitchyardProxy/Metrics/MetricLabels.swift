import SwitchyardCore

/// The label sets of DESIGN.md §8, in their fixed order. An absent port or section is `""`.
enum MetricLabels {
    typealias Labels = [(String, String)]

    /// `parent_group ... parent_section_name`.
    static func parent(_ parent: ParentRef) -> Labels { resource("parent", parent.meta) }

    /// `route_group, route_kind, route_namespace, route_name`.
    static func route(_ route: RouteRef) -> Labels {
        let meta = route.meta
        return [
            ("route_group", meta.group), ("route_kind", meta.kind), ("route_namespace", meta.namespace), ("route_name", meta.name),
        ]
    }

    /// `backend_group ... backend_section_name`.
    static func backend(_ backend: BackendRef) -> Labels { resource("backend", backend.meta) }

    private static func resource(_ prefix: String, _ meta: Meta) -> Labels {
        [
            ("\(prefix)_group", meta.group), ("\(prefix)_kind", meta.kind), ("\(prefix)_namespace", meta.namespace),
            ("\(prefix)_name", meta.name), ("\(prefix)_port", meta.port.map(String.init) ?? ""),
            ("\(prefix)_section_name", meta.section),
        ]
    }
}
