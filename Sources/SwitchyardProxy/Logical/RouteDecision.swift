import NIOHTTP1
import SwitchyardCore

/// What routing decided for one request head (DESIGN.md §2 steps 2-5).
enum RouteDecision {
    /// Proxy it.
    case dispatch(RouteDispatch)
    /// Answer it without proxying (§7): no service, no route, a filter's answer, a `fail`
    /// backend, no backend available, or a request refused outright (`closeConnection`: the
    /// client's connection closes after the answer).
    case answer(SyntheticError, isGRPC: Bool, closeConnection: Bool)
}

/// A request on its way to a backend.
struct RouteDispatch {
    /// The head as it goes upstream (validated, filters applied, `Expect` taken out).
    var head: RequestHead
    /// How its body is read from the client and framed upstream.
    let framing: RequestBodyFraming
    /// The route backend it counts in.
    let target: RouteBackendTarget
    /// The backend that takes it.
    let backend: BackendRuntime
    /// Whether it is a gRPC call (errors answer in gRPC form, gRPC statuses are counted).
    let isGRPC: Bool
    /// Its route's timeouts, a gRPC request's `grpc-timeout` folded in.
    let timeouts: RouteTimeouts
    /// Whether `timeouts.request` is the client's `grpc-timeout` rather than the route's.
    let clientChoseDeadline: Bool
    /// Whether the client asked `Expect: 100-continue`: the listener says `100 Continue` (the
    /// proxy reads the body itself and frames it anew).
    let expectsContinue: Bool
}
