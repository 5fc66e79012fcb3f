import NIOHTTP1
import SwitchyardCore

/// A rule's filters (DESIGN.md §6), applied in order to the head routing chose the rule for.
enum RouteFilters {
    /// Applies `filters` to `head`; returns the answer of the first filter that answers instead
    /// (a redirect, an injected failure), or nil when the request goes on. `roll` draws a
    /// number in [0, 1) for a failure injector.
    static func apply(_ filters: [RouteFilter], to head: inout RequestHead, roll: () -> Double) -> SyntheticError? {
        for filter in filters {
            switch filter {
            case .requestHeaderModifier(let modifier):
                for name in modifier.remove { head.fields.remove(named: name) }
                do {
                    for (name, value) in modifier.set { try head.fields.replaceOrAdd(named: name, value: value) }
                    for (name, value) in modifier.add { try head.fields.append(name: name, value: value) }
                } catch {
                    // The config's reader checked every name and value: none can be refused here.
                    assertionFailure("a filter's field the config allowed was refused: \(error)")
                }
            case .failureInjector(let injector):
                if roll() < injector.ratio { return .injected(status: injector.status, message: injector.message) }
            case .requestRedirect(let redirect):
                return .redirect(status: redirect.statusCode, to: location(of: redirect, for: head))
            }
        }
        return nil
    }

    /// Where a redirect sends `head`: its scheme, host and port (the request's own when not
    /// given; a port is dropped when it is the scheme's default) and path.
    static func location(of redirect: RouteFilter.Redirect, for head: RequestHead) -> String {
        let authority = try? Authority(parsing: head.fields.first(name: "host") ?? "", defaultPort: 80)
        let host = redirect.hostname ?? authority?.host ?? "localhost"
        let scheme = redirect.scheme ?? "http"
        let port = redirect.port ?? (redirect.hostname == nil ? authority.map { Int($0.port) } : nil)
        let defaultPort = scheme == "https" ? 443 : 80
        let portText = port.map { $0 == defaultPort ? "" : ":\($0)" } ?? ""
        return "\(scheme)://\(host)\(portText)\(redirect.path ?? head.uri)"
    }
}
