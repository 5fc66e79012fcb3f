/// Splits a byte stream into newline-delimited messages, as the etcd gateway streams watch
/// responses (one JSON object a line; JSON text holds no raw newline). Lines may arrive split
/// or several at once; none may be longer than a bound.
struct JSONLineBuffer {
    /// The longest line taken, without its newline.
    let maxLineBytes: Int
    private var buffer: [UInt8] = []
    /// Where the next line starts in `buffer`.
    private var start = 0
    /// Bytes from `start` known to hold no newline.
    private var scanned = 0

    /// A buffer whose lines are at most `maxLineBytes` long.
    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// Adds received bytes.
    mutating func append(_ bytes: [UInt8]) {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer += bytes
    }

    /// The next complete line that is not blank, without its line break, or `nil` when none
    /// is complete yet.
    /// - Throws: ``EtcdError`` when a line is longer than ``maxLineBytes``.
    mutating func nextLine() throws(EtcdError) -> ArraySlice<UInt8>? {
        while let newline = buffer[(start + scanned)...].firstIndex(of: UInt8(ascii: "\n")) {
            let line = buffer[start..<newline]
            start = newline + 1
            scanned = 0
            guard line.count <= maxLineBytes else { throw EtcdError("stream message longer than \(maxLineBytes) bytes") }
            if !Self.isBlank(line) { return line }
        }
        scanned = buffer.count - start
        guard scanned <= maxLineBytes else { throw EtcdError("stream message longer than \(maxLineBytes) bytes") }
        return nil
    }

    /// What is left after the last newline when the stream ends, unless blank.
    func remainder() -> ArraySlice<UInt8>? {
        let rest = buffer[start...]
        return Self.isBlank(rest) ? nil : rest
    }

    private static func isBlank(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }
    }
}
