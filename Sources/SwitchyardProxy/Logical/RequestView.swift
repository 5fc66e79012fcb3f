import NIOHTTP1
import SwitchyardCore

/// A request head as routing sees it.
struct RequestView: RoutableRequest {
    let head: HTTPRequestHead
    let method: String
    let path: Substring
    let query: Substring

    init(_ head: HTTPRequestHead) {
        self.head = head
        self.method = head.method.rawValue
        let uri = head.uri[...]
        if let mark = uri.firstIndex(of: "?") {
            path = uri[..<mark]
            query = uri[uri.index(after: mark)...]
        } else {
            path = uri
            query = ""
        }
    }

    func header(_ name: String) -> String? {
        head.headers.first(name: name)
    }
}
