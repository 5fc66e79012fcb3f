/// One HTTP/1.1 POST of a JSON body over a fresh ``BlockingSocket``, and its response: the head
/// is read when the exchange starts, the body then in whole (``readBody(limit:deadline:stop:)``)
/// or as it arrives (``readBodyPart(deadline:stop:)``, for a stream). The connection closes when
/// the exchange is released.
final class HTTPExchange {
    /// The longest response head taken: status line, headers and the empty line.
    static let maxHeadBytes = 16 * 1024
    /// The most bytes asked of the socket at once.
    private static let receiveBytes = 64 * 1024

    /// The response's status and framing.
    let head: HTTPResponseHead
    private let socket: BlockingSocket
    /// Received bytes not yet given to `decoder`.
    private var pending: [UInt8]
    private var decoder: HTTPBodyDecoder

    /// Connects to `endpoint`, sends `POST path` with `body` as `application/json`, and reads
    /// the response head.
    /// - Parameters:
    ///   - keepOpen: whether the connection stays open after the response (a stream): without
    ///     it the request says `Connection: close`.
    ///   - deadline: when connecting, sending and reading the head must be done by.
    /// - Throws: ``EtcdError`` when connecting or sending fails, the peer closes first, the
    ///   head is malformed or longer than ``maxHeadBytes``, or `deadline` passes or `stop` fires.
    init(
        endpoint: EtcdEndpointAddress, path: String, body: [UInt8], keepOpen: Bool,
        deadline: ContinuousClock.Instant, stop: StopSignal
    ) throws(EtcdError) {
        let socket: BlockingSocket
        do {
            socket = try BlockingSocket.connectTCP(host: endpoint.host, port: endpoint.port, deadline: deadline, stop: stop)
        } catch {
            throw EtcdError(error.description)
        }
        var request = "POST \(path) HTTP/1.1\r\nHost: \(endpoint.hostHeader)\r\n"
        request += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        if !keepOpen { request += "Connection: close\r\n" }
        request += "\r\n"
        do {
            try socket.send(Array(request.utf8) + body, deadline: deadline, stop: stop)
        } catch {
            socket.close()
            throw EtcdError("sending the request: \(error.description)")
        }
        do {
            (head, pending) = try Self.readHead(from: socket, deadline: deadline, stop: stop)
        } catch {
            socket.close()
            throw error
        }
        self.socket = socket
        decoder = HTTPBodyDecoder(framing: head.framing)
    }

    deinit {
        socket.close()
    }

    /// The next body bytes as they arrive (never empty), or `nil` once the body is complete.
    /// - Throws: ``EtcdError`` when the framing is malformed, the connection fails or closes
    ///   mid-body, or `deadline` passes or `stop` fires first.
    func readBodyPart(deadline: ContinuousClock.Instant, stop: StopSignal) throws(EtcdError) -> [UInt8]? {
        while !decoder.isComplete {
            if pending.isEmpty {
                pending = try Self.receive(from: socket, deadline: deadline, stop: stop)
                if pending.isEmpty {
                    try decoder.finishAtClose()
                    return nil
                }
            }
            var payload: [UInt8] = []
            try decoder.feed(pending[...], into: &payload)
            pending = []
            if !payload.isEmpty { return payload }
        }
        return nil
    }

    /// The whole body.
    /// - Throws: ``EtcdError`` as ``readBodyPart(deadline:stop:)`` does, and when the body is
    ///   longer than `limit` bytes.
    func readBody(limit: Int, deadline: ContinuousClock.Instant, stop: StopSignal) throws(EtcdError) -> [UInt8] {
        var body: [UInt8] = []
        while let part = try readBodyPart(deadline: deadline, stop: stop) {
            body += part
            guard body.count <= limit else { throw EtcdError("response body longer than \(limit) bytes") }
        }
        return body
    }

    /// Reads until the empty line that ends the head; returns the head and the bytes after it.
    private static func readHead(
        from socket: BlockingSocket, deadline: ContinuousClock.Instant, stop: StopSignal
    ) throws(EtcdError) -> (HTTPResponseHead, [UInt8]) {
        var buffer: [UInt8] = []
        var scanned = 0
        while true {
            let received = try receive(from: socket, deadline: deadline, stop: stop)
            guard !received.isEmpty else { throw EtcdError("connection closed before the response head") }
            buffer += received
            // The head ends at a LF followed by LF or CRLF.
            var index = max(0, scanned - 2)
            while index < buffer.count {
                if buffer[index] == UInt8(ascii: "\n") {
                    let blankEnd: Int? =
                        if index + 1 < buffer.count, buffer[index + 1] == UInt8(ascii: "\n") {
                            index + 2
                        } else if index + 2 < buffer.count, buffer[index + 1] == UInt8(ascii: "\r"), buffer[index + 2] == UInt8(ascii: "\n") {
                            index + 3
                        } else {
                            nil
                        }
                    if let blankEnd {
                        guard blankEnd <= maxHeadBytes else { throw EtcdError("response head longer than \(maxHeadBytes) bytes") }
                        return (try HTTPResponseHead(parsing: buffer[..<(index + 1)]), Array(buffer[blankEnd...]))
                    }
                }
                index += 1
            }
            scanned = buffer.count
            guard buffer.count <= maxHeadBytes else { throw EtcdError("response head longer than \(maxHeadBytes) bytes") }
        }
    }

    private static func receive(
        from socket: BlockingSocket, deadline: ContinuousClock.Instant, stop: StopSignal
    ) throws(EtcdError) -> [UInt8] {
        do {
            return try socket.receive(max: receiveBytes, deadline: deadline, stop: stop)
        } catch {
            throw EtcdError("reading the response: \(error.description)")
        }
    }
}
