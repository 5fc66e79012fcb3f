/// Series of DESIGN.md §8 exactly as `/metrics` prints them, for tests to look up by name and
/// labels (with ``Peers/metric(_:_:)``).
public enum MetricSeries {
    /// The six labels of a `core/Service` in `role` (`parent` or `backend`), in §8's order:
    /// `parent_group="core",parent_kind="Service",...,parent_section_name=""`.
    public static func service(_ role: String, namespace: String, name: String, port: Int) -> String {
        #"\#(role)_group="core",\#(role)_kind="Service",\#(role)_namespace="\#(namespace)",\#(role)_name="\#(name)","#
            + #"\#(role)_port="\#(port)",\#(role)_section_name="""#
    }

    /// `outbound_http_balancer_endpoints` in `state` for backend `name`, routed to by parent
    /// `parent` (the backend itself when nil).
    public static func balancerEndpoints(namespace: String, name: String, parent: String? = nil, port: Int, state: String) -> String {
        "outbound_http_balancer_endpoints{\(service("parent", namespace: namespace, name: parent ?? name, port: port)),"
            + "\(service("backend", namespace: namespace, name: name, port: port)),endpoint_state=\"\(state)\"}"
    }

    /// `outbound_http_route_backend_response_statuses_total` of service `name` through its
    /// default route (`route_name="http"`) to its own backend, with `status` and `error`.
    public static func routeBackendResponses(namespace: String, name: String, port: Int, status: String, error: String = "") -> String {
        "outbound_http_route_backend_response_statuses_total{\(routeBackend(namespace: namespace, name: name, port: port)),"
            + "http_status=\"\(status)\",error=\"\(error)\"}"
    }

    /// The 16 labels of service `name`'s default route (`route_name="http"`) to its own backend.
    public static func routeBackend(namespace: String, name: String, port: Int) -> String {
        "\(service("parent", namespace: namespace, name: name, port: port)),"
            + #"route_group="",route_kind="default",route_namespace="",route_name="http","#
            + service("backend", namespace: namespace, name: name, port: port)
    }
}
