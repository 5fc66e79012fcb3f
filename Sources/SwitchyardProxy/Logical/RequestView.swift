import NIOHTTP1
import SwitchyardCore

/// A request head as routing sees it: the target split once at its `?` (a byte search: `?` is
/// ASCII, and no byte of a longer UTF-8 sequence equals it), the method and fields read only
/// when a match asks, where they lie.
struct RequestView: RoutableRequest {
    let head: RequestHead
    let path: Substring
    let query: Substring

    init(_ head: RequestHead) {
        self.head = head
        let uri = head.uri
        if let mark = uri.utf8.firstIndex(of: UInt8(ascii: "?")) {
            path = uri[..<mark]
            query = uri[uri.utf8.index(after: mark)...]
        } else {
            path = uri[...]
            query = ""
        }
    }

    var method: String { head.method.rawValue }

    func header(_ name: String) -> String? {
        head.fields.first(named: name)
    }
}
