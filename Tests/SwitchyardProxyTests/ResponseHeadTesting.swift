import NIOHTTP1

@testable import SwitchyardProxy

extension ResponseHead {
    /// NIO's head as the proxy's, its fields checked into lines (tests build heads NIO's way).
    init(_ head: HTTPResponseHead) throws {
        self.init(version: head.version, status: head.status, fields: try FieldLines(head.headers))
    }
}
