import NIOHTTP1
import SwitchyardCore

/// A request head as routing sees it. Each part is worked out when a match asks for it: a
/// service's default route looks at the path's first byte only.
struct RequestView: RoutableRequest {
    let head: HTTPRequestHead

    init(_ head: HTTPRequestHead) {
        self.head = head
    }

    var method: String { head.method.rawValue }

    /// Where the query starts (`?`), if there is one: a byte search, as `?` is ASCII and no
    /// byte of a longer UTF-8 sequence equals it.
    private var queryMark: String.Index? {
        head.uri.utf8.firstIndex(of: UInt8(ascii: "?"))
    }

    var path: Substring {
        let uri = head.uri
        return uri[..<(queryMark ?? uri.endIndex)]
    }

    var query: Substring {
        let uri = head.uri
        guard let mark = queryMark else { return "" }
        return uri[uri.utf8.index(after: mark)...]
    }

    func header(_ name: String) -> String? {
        head.headers.first(name: name)
    }
}
