import NIOHTTP1

@testable import SwitchyardProxy

extension ResponseHead {
    /// NIO's head as the proxy's, its fields checked into lines (tests build heads NIO's way).
    init(_ head: HTTPResponseHead) throws {
        self.init(version: head.version, status: head.status, fields: try FieldLines(head.headers))
    }
}

extension RequestHead {
    /// NIO's head as the proxy's, its fields checked into lines (tests build heads NIO's way).
    init(_ head: HTTPRequestHead) throws {
        self.init(version: head.version, method: head.method, uri: head.uri, fields: try FieldLines(head.headers))
    }
}

extension FieldLines {
    /// The fields of `headers`, each checked; throws for the first that may not be sent.
    init(_ headers: HTTPHeaders) throws(UnsendableHead) {
        self.init()
        for (name, value) in headers { try append(name: name, value: value) }
    }

    /// Whether there are no fields.
    var isEmpty: Bool { bytes.readableBytes == 0 }

    /// The fields as NIO's headers, to compare them.
    var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        forEach { name, value in headers.add(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)) }
        return headers
    }
}
