import SwitchyardPluginHost

/// One backend's endpoints as every event loop serves them at one moment: the table's list,
/// or a discovery's latest set. Immutable; a discovery's change makes the next one, which each
/// loop applies (``BackendRuntime/apply(_:)``).
final class EndpointSnapshot: Sendable {
    /// The endpoints, in balancer order.
    let endpoints: [RoutingTable.Endpoint]
    /// Each endpoint's breaker, when the backend has failure accrual (shared by every loop,
    /// kept by address from one snapshot to the next).
    let healths: [EndpointHealth?]
    /// Every loop's in-flight counts by endpoint index, when more than one loop serves the
    /// backend (the balancer's `backend_in_flight`).
    let inFlight: BackendInFlight?

    init(endpoints: [RoutingTable.Endpoint], healths: [EndpointHealth?], loops: Int) {
        self.endpoints = endpoints
        self.healths = healths
        self.inFlight = loops > 1 ? BackendInFlight(count: endpoints.count) : nil
    }
}
