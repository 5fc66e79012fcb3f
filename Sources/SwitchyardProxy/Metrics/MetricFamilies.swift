import Prometheus
import SwitchyardCore

/// The name and help text of every metric family the proxy exports (DESIGN.md §8).
enum MetricFamilies {
    private static func route(_ proto: ServiceProtocol) -> String { proto == .grpc ? "grpc_route_backend" : "http_route_backend" }

    /// `outbound_{http,grpc}_route_backend_requests_total`.
    static func routeBackendRequests(_ proto: ServiceProtocol) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "outbound", subsystem: route(proto), metricName: "requests", unitName: "total",
            helpText: "Requests dispatched to \(proto == .grpc ? "a gRPC" : "an HTTP") route backend.")
    }

    /// `outbound_{http,grpc}_route_backend_response_statuses_total`.
    static func routeBackendResponseStatuses(_ proto: ServiceProtocol) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "outbound", subsystem: route(proto), metricName: "response_statuses", unitName: "total",
            helpText: "Responses of \(proto == .grpc ? "a gRPC" : "an HTTP") route backend by status and error.")
    }

    /// `outbound_{http,grpc}_route_backend_response_duration_seconds`.
    static func routeBackendResponseDuration(_ proto: ServiceProtocol) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "outbound", subsystem: route(proto), metricName: "response_duration", unitName: "seconds",
            helpText: "Time from the end of a request to the end of its response, by route backend.")
    }

    /// The response-duration buckets, in seconds: 1 ms to 10 s. Seconds as `Double`, not
    /// `Duration`: a response's record compares it with each bucket, and `Duration`'s
    /// comparisons and sums are calls into the Swift runtime (with `Int128` arithmetic).
    static let durationBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// `outbound_http_balancer_endpoints`.
    static var balancerEndpoints: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "outbound", subsystem: "http_balancer", metricName: "endpoints", unitName: "",
            helpText: "Endpoints of a backend's balancer by state: ready, or pending (out of rotation, such as a tripped breaker).")
    }

    /// `outbound_http_balancer_queue_length`.
    static var balancerQueueLength: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "outbound", subsystem: "http_balancer", metricName: "queue_length", unitName: "",
            helpText: "Requests waiting in a backend's queues for a ready endpoint.")
    }

    /// `outbound_http_breaker_transitions_total`.
    static var breakerTransitions: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "outbound", subsystem: "http_breaker", metricName: "transitions", unitName: "total",
            helpText: "Failure-accrual breaker transitions of an endpoint: tripped, probing (a probe admitted), reopened.")
    }

    /// `switchyard_discovery_updates_total`.
    static var discoveryUpdates: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", subsystem: "discovery", metricName: "updates", unitName: "total",
            helpText: "Events a backend's discovery published and the host took, by event: reset, add, remove, not_found, current, error.")
    }

    /// `switchyard_discovery_state`.
    static var discoveryState: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", subsystem: "discovery", metricName: "state", unitName: "",
            helpText: "1 for the state a backend's discovery is in (pending, synced, error, not_found, stale), 0 for the others.")
    }

    /// `switchyard_discovery_last_update_timestamp_seconds`.
    static var discoveryLastUpdate: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", subsystem: "discovery", metricName: "last_update_timestamp", unitName: "seconds",
            helpText: "Unix time of the last event a backend's discovery published that was taken (an error event included).")
    }

    /// `switchyard_plugin_faults_total`.
    static var pluginFaults: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", subsystem: "plugin", metricName: "faults", unitName: "total",
            helpText: "Bad answers from a plugin's resolver, balancer or discovery, each answered safely by the host.")
    }

    /// `switchyard_server_connections`.
    static var serverConnections: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", subsystem: "server", metricName: "connections", unitName: "",
            helpText: "Client connections open on the proxy listener.")
    }

    /// `switchyard_server_connections_refused_total`.
    static var serverConnectionsRefused: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "switchyard", subsystem: "server", metricName: "connections_refused", unitName: "total",
            helpText: "Client connections closed as they were accepted because limits.connections were open.")
    }
}
