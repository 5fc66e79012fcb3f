/// Takes an HTTP/1.1 response body off the wire incrementally, whatever way the bytes arrive
/// split: by `Content-Length`, by chunked transfer-coding (chunk extensions and trailers
/// skipped), or up to the connection's close.
///
/// It never allocates by a length the peer sent: chunk payloads are handed on as they arrive,
/// and chunk-size lines and trailers are bounded.
struct HTTPBodyDecoder {
    /// The longest chunk-size line (size and extensions) taken.
    static let maxChunkLineBytes = 4096
    /// The most trailer bytes taken after the last chunk.
    static let maxTrailerBytes = 16 * 1024

    private enum State {
        /// `remaining` more payload bytes, then the body ends.
        case fixed(remaining: Int)
        /// Reading a chunk-size line.
        case chunkSize(line: [UInt8])
        /// `remaining` more payload bytes of the current chunk.
        case chunkData(remaining: Int)
        /// Reading the line break that ends a chunk's payload.
        case chunkEnd(line: [UInt8])
        /// Reading trailer lines after the last chunk; `total` bytes taken so far.
        case trailers(line: [UInt8], total: Int)
        /// Everything until the peer closes.
        case untilClose
        /// The body is complete; later bytes are ignored.
        case done
    }

    private var state: State

    /// A decoder for a body framed as `framing` says.
    init(framing: HTTPResponseHead.BodyFraming) {
        switch framing {
        case .contentLength(let length): state = length == 0 ? .done : .fixed(remaining: length)
        case .chunked: state = .chunkSize(line: [])
        case .untilClose: state = .untilClose
        }
    }

    /// Whether the whole body has been taken.
    var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Takes `bytes` received from the peer, appending body payload bytes to `payload`.
    /// - Throws: ``EtcdError`` when the chunked framing is malformed or over its bounds.
    mutating func feed(_ bytes: ArraySlice<UInt8>, into payload: inout [UInt8]) throws(EtcdError) {
        var rest = bytes
        while !rest.isEmpty {
            switch state {
            case .done:
                return
            case .untilClose:
                payload.append(contentsOf: rest)
                return
            case .fixed(let remaining):
                let taken = rest.prefix(remaining)
                payload.append(contentsOf: taken)
                rest = rest.dropFirst(taken.count)
                state = remaining == taken.count ? .done : .fixed(remaining: remaining - taken.count)
            case .chunkData(let remaining):
                let taken = rest.prefix(remaining)
                payload.append(contentsOf: taken)
                rest = rest.dropFirst(taken.count)
                state = remaining == taken.count ? .chunkEnd(line: []) : .chunkData(remaining: remaining - taken.count)
            case .chunkSize(var line):
                guard let complete = try Self.takeLine(from: &rest, into: &line, limit: Self.maxChunkLineBytes, what: "chunk-size line") else {
                    state = .chunkSize(line: line)
                    return
                }
                let size = try Self.chunkSize(complete)
                state = size == 0 ? .trailers(line: [], total: 0) : .chunkData(remaining: size)
            case .chunkEnd(var line):
                guard let complete = try Self.takeLine(from: &rest, into: &line, limit: 2, what: "chunk end") else {
                    state = .chunkEnd(line: line)
                    return
                }
                guard complete.isEmpty else { throw EtcdError("chunk payload longer than its size") }
                state = .chunkSize(line: [])
            case .trailers(var line, let total):
                let before = rest.count
                let complete = try Self.takeLine(from: &rest, into: &line, limit: Self.maxTrailerBytes, what: "trailer")
                let taken = total + before - rest.count
                guard taken <= Self.maxTrailerBytes else { throw EtcdError("trailers longer than \(Self.maxTrailerBytes) bytes") }
                switch complete {
                case nil: state = .trailers(line: line, total: taken)
                case let complete? where complete.isEmpty: state = .done
                case .some: state = .trailers(line: [], total: taken)
                }
            }
        }
    }

    /// Checks that the peer closing the connection now ends the body properly.
    /// - Throws: ``EtcdError`` when the body was cut short.
    mutating func finishAtClose() throws(EtcdError) {
        switch state {
        case .done: return
        case .untilClose: state = .done
        default: throw EtcdError("connection closed in the middle of the response body")
        }
    }

    /// Moves bytes from `rest` into `line` up to and including a LF; returns the line without
    /// its LF and optional CR once complete, or `nil` when `rest` ran out first.
    private static func takeLine(
        from rest: inout ArraySlice<UInt8>, into line: inout [UInt8], limit: Int, what: String
    ) throws(EtcdError) -> [UInt8]? {
        let newline = rest.firstIndex(of: UInt8(ascii: "\n"))
        let end = newline.map { rest.index(after: $0) } ?? rest.endIndex
        guard line.count + rest.distance(from: rest.startIndex, to: end) <= limit + 2 else {
            throw EtcdError("\(what) longer than \(limit) bytes")
        }
        line.append(contentsOf: rest[..<end])
        rest = rest[end...]
        guard newline != nil else { return nil }
        line.removeLast()
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return line
    }

    /// The size in a chunk-size line: hex digits, then optionally whitespace or `;` extensions.
    private static func chunkSize(_ line: [UInt8]) throws(EtcdError) -> Int {
        var size = 0
        var digits = 0
        for byte in line {
            let digit: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                guard digits > 0 else { throw EtcdError("malformed chunk size") }
                return size
            default:
                throw EtcdError("malformed chunk size")
            }
            digits += 1
            guard digits <= 15 else { throw EtcdError("chunk size too large") }
            size = size << 4 | digit
        }
        guard digits > 0 else { throw EtcdError("malformed chunk size") }
        return size
    }
}
