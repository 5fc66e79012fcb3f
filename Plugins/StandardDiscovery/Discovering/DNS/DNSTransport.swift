/// Why one exchange with one server failed: the server and what went wrong, for messages.
struct DNSExchangeError: Error {
    /// Names the server and the protocol.
    let message: String
}

/// Sends queries to one server over UDP, together on one socket, and asks again over TCP
/// those whose answer was truncated; each UDP round and each TCP query waits at most the
/// timeout.
enum DNSTransport {
    /// The largest UDP response read.
    static let udpBufferSize = 4096

    /// The response to each of `queries` from `server` (which may have any response code), or
    /// why there is none, in the order of `queries`.
    static func exchange(
        _ queries: [DNSQuery],
        with server: DNSServer,
        timeout: Duration,
        stop: StopSignal
    ) -> [Result<DNSResponse, DNSExchangeError>] {
        var results = overUDP(queries, server, deadline: .now + timeout, stop: stop)
        for index in results.indices {
            guard case .success(let response) = results[index], response.isTruncated else { continue }
            do throws(DNSExchangeError) {
                results[index] = .success(try overTCP(queries[index], server, deadline: .now + timeout, stop: stop))
            } catch {
                results[index] = .failure(error)
            }
        }
        return results
    }

    /// Sends each query in a datagram and reads datagrams until each query has its answer,
    /// ignoring those that answer none (another ID or question), until the deadline.
    private static func overUDP(
        _ queries: [DNSQuery],
        _ server: DNSServer,
        deadline: ContinuousClock.Instant,
        stop: StopSignal
    ) -> [Result<DNSResponse, DNSExchangeError>] {
        let context = "\(server.label) over UDP"
        var results: [Result<DNSResponse, DNSExchangeError>?] = Array(repeating: nil, count: queries.count)
        var waiting = queries.count
        var socketFailure = DNSExchangeError(message: "\(context): no answer")
        do throws(SocketError) {
            let socket = try BlockingSocket.connectUDP(host: server.host, port: server.port)
            defer { socket.close() }
            for query in queries {
                try socket.send(query.bytes, deadline: deadline, stop: stop)
            }
            while waiting > 0 {
                let datagram = try socket.receive(max: udpBufferSize, deadline: deadline, stop: stop)
                for index in queries.indices where results[index] == nil {
                    do throws(DNSParseError) {
                        results[index] = .success(try DNSResponse(parsing: datagram, for: queries[index]))
                    } catch {
                        guard case .malformed = error else { continue }
                        results[index] = .failure(DNSExchangeError(message: "\(context): \(error)"))
                    }
                    waiting -= 1
                    break
                }
            }
        } catch {
            socketFailure = DNSExchangeError(message: "\(context): \(error)")
        }
        return results.map { $0 ?? .failure(socketFailure) }
    }

    /// Sends the query with its 2-byte length prefix on a new connection and reads one
    /// response, which must answer it.
    private static func overTCP(
        _ query: DNSQuery,
        _ server: DNSServer,
        deadline: ContinuousClock.Instant,
        stop: StopSignal
    ) throws(DNSExchangeError) -> DNSResponse {
        let context = "\(server.label) over TCP"
        let message: [UInt8]
        do throws(SocketError) {
            let socket = try BlockingSocket.connectTCP(
                host: server.host, port: server.port, deadline: deadline, stop: stop)
            defer { socket.close() }
            let length = query.bytes.count
            try socket.send(
                [UInt8(length >> 8), UInt8(length & 0xFF)] + query.bytes, deadline: deadline, stop: stop)
            let prefix = try receive(exactly: 2, from: socket, deadline: deadline, stop: stop)
            let responseLength = Int(prefix[0]) << 8 | Int(prefix[1])
            message = try receive(exactly: responseLength, from: socket, deadline: deadline, stop: stop)
        } catch {
            throw DNSExchangeError(message: "\(context): \(error)")
        }
        let response: DNSResponse
        do throws(DNSParseError) {
            response = try DNSResponse(parsing: message, for: query)
        } catch {
            throw DNSExchangeError(message: "\(context): \(error)")
        }
        guard !response.isTruncated else {
            throw DNSExchangeError(message: "\(context): response truncated")
        }
        return response
    }

    /// Reads until `count` bytes have come; the peer closing first is an error.
    private static func receive(
        exactly count: Int,
        from socket: BlockingSocket,
        deadline: ContinuousClock.Instant,
        stop: StopSignal
    ) throws(SocketError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        while bytes.count < count {
            let chunk = try socket.receive(max: count - bytes.count, deadline: deadline, stop: stop)
            guard !chunk.isEmpty else {
                throw SocketError("connection closed after \(bytes.count) of \(count) bytes")
            }
            bytes += chunk
        }
        return bytes
    }
}
