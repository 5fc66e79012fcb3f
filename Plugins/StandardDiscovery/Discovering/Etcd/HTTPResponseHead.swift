/// The status line and framing of an HTTP/1.1 response, read from its head.
struct HTTPResponseHead: Equatable {
    /// How the response body is delimited.
    enum BodyFraming: Equatable {
        /// Exactly this many bytes follow the head.
        case contentLength(Int)
        /// `Transfer-Encoding: chunked`.
        case chunked
        /// The body runs until the server closes the connection.
        case untilClose
    }

    /// The status code, 100...999.
    let status: Int
    /// The reason phrase, e.g. `OK`, as a ``printableExcerpt(_:)``.
    let reason: String
    /// How the body is delimited.
    let framing: BodyFraming

    /// Parses a response head: the status line and header lines, each ending in LF with an
    /// optional CR before it, without the empty line that ends the head.
    /// - Throws: ``EtcdError`` naming the malformed part.
    init(parsing head: ArraySlice<UInt8>) throws(EtcdError) {
        var lines = head.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        guard let statusLine = lines.first else { throw EtcdError("empty HTTP response head") }
        (status, reason) = try Self.parseStatusLine(statusLine)

        var contentLength: Int?
        var chunked = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line.first != UInt8(ascii: " "), line.first != UInt8(ascii: "\t")
            else { throw EtcdError("malformed HTTP header line") }
            let name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
            let value = Self.trimmed(line[line.index(after: colon)...])
            switch name {
            case "content-length":
                guard !value.isEmpty, value.count <= 18, value.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                    let length = Int(String(decoding: value, as: UTF8.self))
                else { throw EtcdError("malformed Content-Length") }
                guard contentLength == nil || contentLength == length else { throw EtcdError("conflicting Content-Length headers") }
                contentLength = length
            case "transfer-encoding":
                let codings = value.split(separator: UInt8(ascii: ",")).map { String(decoding: Self.trimmed($0), as: UTF8.self).lowercased() }
                guard !chunked, codings == ["chunked"] else {
                    throw EtcdError("unsupported Transfer-Encoding '\(printableExcerpt(value))'")
                }
                chunked = true
            default:
                continue
            }
        }
        if chunked {
            framing = .chunked
        } else if status == 204 || status == 304 {
            framing = .contentLength(0)
        } else if let contentLength {
            framing = .contentLength(contentLength)
        } else {
            framing = .untilClose
        }
    }

    private static func parseStatusLine(_ line: ArraySlice<UInt8>) throws(EtcdError) -> (Int, String) {
        let parts = line.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].starts(with: "HTTP/1.".utf8), parts[0].count == 8,
            parts[1].count == 3, parts[1].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let status = Int(String(decoding: parts[1], as: UTF8.self)), status >= 100
        else { throw EtcdError("malformed HTTP status line") }
        let reason = parts.count == 3 ? printableExcerpt(parts[2]) : ""
        return (status, reason)
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = bytes.firstIndex(where: { !isBlank($0) }), let last = bytes.lastIndex(where: { !isBlank($0) }) else {
            return []
        }
        return bytes[first...last]
    }
}
