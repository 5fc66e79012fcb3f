import NIOCore

/// A head's fields as HTTP/1.1 field lines in one buffer, `name: value` and CRLF each, in the
/// order they came: how a head crosses the proxy either way (``RequestHead``,
/// ``ResponseHead``). An HTTP/1.1 parser keeps them where it read them when they came in this
/// form, else copies each field it keeps straight in (``Builder``; no String per field, no
/// array of them), and an HTTP/1.x encoder writes them all with one copy. HTTP/2 blocks are
/// made into lines and encoded from them field by field.
///
/// Every line is checked on its way in: a name is a token, a value holds no control character
/// other than tab. A writer copies the lines as they are: none of them can split a message.
/// Names keep the case they came in; lookups ignore it.
struct FieldLines: Equatable, Sendable {
    /// The lines, each `name: value\r\n`.
    private(set) var bytes: ByteBuffer

    /// No fields, with room for `capacity` bytes of lines.
    init(capacity: Int = 0) {
        bytes = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Lines a parser checked, already in this form (``Builder``).
    private init(checkedLines: ByteBuffer) {
        bytes = checkedLines
    }

    /// Appends a field a parser already checked (``HTTP1MessageReader``, ``HTTP2FieldRules``):
    /// a name that is a token, a value with no control character other than tab.
    mutating func appendChecked(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        assert(HeaderText.isToken(name) && HeaderText.isValue(value), "an unchecked field")
        bytes.writeFieldLine(name: name, value: value)
    }

    /// Appends a field the proxy names (a lower-case token) with a value a parser checked.
    mutating func appendChecked(name: StaticString, value: UnsafeRawBufferPointer) {
        name.withUTF8Buffer { name in appendChecked(name: UnsafeRawBufferPointer(name), value: value) }
    }

    /// Appends a field once it is checked: throws, appending nothing, when the name is not a
    /// token or the value holds a control character other than tab.
    mutating func append(name: String, value: String) throws(UnsendableHead) {
        try bytes.writeCheckedField(name: name, value: value)
    }

    /// Calls `body` with each field's name and value, in order.
    func forEach<Failure: Error>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(Failure) -> Void) throws(Failure) {
        try forEachLine { (name, value, _) throws(Failure) in try body(name, value) }
    }

    /// Calls `body` with each field's name and value and where its line lies in ``bytes``'
    /// readable bytes.
    private func forEachLine<Failure: Error>(
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, Range<Int>) throws(Failure) -> Void
    ) throws(Failure) {
        try bytes.withUnsafeReadableBytes { (lines) throws(Failure) in
            var start = 0
            // Lines are only built by `writeFieldLine`: a name (a token: no colon), ": ", a value
            // (no LF), CRLF.
            while let colon = HTTP1MessageReader.index(of: UInt8(ascii: ":"), in: lines, from: start),
                let lf = HTTP1MessageReader.index(of: 0x0A, in: lines, from: colon), lf >= colon + 3
            {
                let name = UnsafeRawBufferPointer(rebasing: lines[start..<colon])
                let value = UnsafeRawBufferPointer(rebasing: lines[colon + 2..<lf - 1])
                try body(name, value, start..<lf + 1)
                start = lf + 1
            }
        }
    }

    /// Whether a field is named `name` (given in lower case), ignoring case.
    func contains(name: StaticString) -> Bool {
        name.withUTF8Buffer { name in
            bytes.withUnsafeReadableBytes { lines in
                var start = 0
                while let colon = HTTP1MessageReader.index(of: UInt8(ascii: ":"), in: lines, from: start) {
                    if HeaderText.equalsIgnoringCase(UnsafeRawBufferPointer(rebasing: lines[start..<colon]), name) { return true }
                    guard let lf = HTTP1MessageReader.index(of: 0x0A, in: lines, from: colon) else { return false }
                    start = lf + 1
                }
                return false
            }
        }
    }

    /// The value of the first field named `name` (given in lower case), ignoring case.
    func first(name: StaticString) -> String? {
        name.withUTF8Buffer { name in first { HeaderText.equalsIgnoringCase($0, name) } }
    }

    /// The value of the first field named `name` (any case), a name only known at run time: a
    /// route's header match, a balancer's hash header.
    func first(named name: String) -> String? {
        Self.withBytes(of: name) { name in first { HeaderText.equalsIgnoringCase($0, anyCase: name) } }
    }

    private func first(where matches: (UnsafeRawBufferPointer) -> Bool) -> String? {
        var value: String?
        forEach { field, fieldValue in
            if value == nil, matches(field) { value = String(decoding: fieldValue, as: UTF8.self) }
        }
        return value
    }

    /// Calls `body` with `name`'s bytes as they are: compared ignoring case in both, so a name
    /// a config wrote with capitals costs no lowercased copy on each request.
    private static func withBytes<Result>(of name: String, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        var name = name
        return name.withUTF8(body)
    }

    /// Whether a `content-length` and whether a `transfer-encoding` is among the fields, in one
    /// pass (how a response's encoder frames its body).
    var framingFields: (length: Bool, coding: Bool) {
        var found = (length: false, coding: false)
        forEach { name, _ in
            if name.count == 14, HeaderText.equalsIgnoringCase(name, "content-length") { found.length = true }
            if name.count == 17, HeaderText.equalsIgnoringCase(name, "transfer-encoding") { found.coding = true }
        }
        return found
    }

    /// The values of every field named `name` (given in lower case), in order.
    func values(name: StaticString) -> [String] {
        var values: [String] = []
        name.withUTF8Buffer { name in
            forEach { field, value in
                if HeaderText.equalsIgnoringCase(field, name) { values.append(String(decoding: value, as: UTF8.self)) }
            }
        }
        return values
    }

    /// Removes every field whose name `matches` (it is given each name); keeps the rest in
    /// order. Copies the lines only when one goes.
    mutating func removeAll(where matches: (UnsafeRawBufferPointer) -> Bool) {
        var kept: ByteBuffer?
        var keptUpTo = 0  // the lines before this offset are in `kept`, or all stay
        forEachLine { name, _, line in
            guard matches(name) else { return }
            if kept == nil { kept = ByteBufferAllocator().buffer(capacity: bytes.readableBytes) }
            if line.lowerBound > keptUpTo, var run = bytes.getSlice(at: bytes.readerIndex + keptUpTo, length: line.lowerBound - keptUpTo) {
                kept?.writeBuffer(&run)
            }
            keptUpTo = line.upperBound
        }
        guard var kept else { return }
        if var rest = bytes.getSlice(at: bytes.readerIndex + keptUpTo, length: bytes.readableBytes - keptUpTo) { kept.writeBuffer(&rest) }
        bytes = kept
    }

    /// Removes every field named `name` (given in lower case); copies nothing when none is.
    mutating func remove(name: StaticString) {
        name.withUTF8Buffer { name in removeAll { HeaderText.equalsIgnoringCase($0, name) } }
    }

    /// Removes every field named `name` (any case, known at run time: a route filter's);
    /// copies nothing when none is.
    mutating func remove(named name: String) {
        Self.withBytes(of: name) { name in removeAll { HeaderText.equalsIgnoringCase($0, anyCase: name) } }
    }

    /// Sets the one field named `name` to `value` once both are checked (a route filter's): the
    /// earlier ones, in any case, go and it comes last, with no buffer of its own. Throws,
    /// changing nothing, when the name is not a token or the value holds a control character
    /// other than tab.
    mutating func replaceOrAdd(named name: String, value: String) throws(UnsendableHead) {
        var earlier = 0
        Self.withBytes(of: name) { name in forEach { field, _ in if HeaderText.equalsIgnoringCase(field, anyCase: name) { earlier += 1 } } }
        // Appended first, as `append` checks it: a refusal leaves the lines as they were.
        try append(name: name, value: value)
        guard earlier > 0 else { return }
        Self.withBytes(of: name) { name in
            removeAll { field in
                guard earlier > 0, HeaderText.equalsIgnoringCase(field, anyCase: name) else { return false }
                earlier -= 1
                return true
            }
        }
    }

    /// Sets the one field named `name` (lower case, a token) to `value` (a checked value):
    /// the proxy's own framing and connection fields.
    mutating func replaceOrAdd(name: StaticString, value: StaticString) {
        remove(name: name)
        name.withUTF8Buffer { name in
            value.withUTF8Buffer { value in appendChecked(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value)) }
        }
    }
}

extension FieldLines {
    /// Collects the fields an HTTP/1.1 parser keeps from one head, without copying them when it
    /// can: while every line kept is in ``FieldLines``' form already (`name: value`, one space
    /// after the colon, none at the end: how nginx, HAProxy and most servers write them) and
    /// each follows the one before in the head, the fields are a slice of the head's bytes (no
    /// copy, no allocation). The first that is not (a line in another form, or one after a
    /// field left out) starts a buffer, sized to the head, of copies.
    ///
    /// The pointers it is given must all point into one head's bytes, as
    /// ``HTTP1MessageReader/readHeadLines(startLine:keeping:)`` gives them, and ``fields(of:)``
    /// must be given those bytes.
    struct Builder {
        /// The largest read buffer whose storage the fields keep (their slice of it keeps it
        /// all while the message is in flight: a request until its exchange ends); the lines of
        /// a head read into a larger one are copied into a buffer of their own.
        static let largestSharedStorage = 16 * 1024

        /// Where the head's bytes begin, and how many there are.
        private let head: UnsafeRawBufferPointer
        /// The lines kept so far, as offsets into the head, while they are one run in form.
        private var run: Range<Int>?
        /// The lines kept so far, copied, once they are not.
        private var copied: FieldLines?

        /// A builder with no head yet: what it keeps, it copies.
        init() {
            head = UnsafeRawBufferPointer(start: nil, count: 0)
        }

        /// A builder for the head whose bytes begin where `startLine` does (the head is
        /// `length` bytes).
        init(startLine: UnsafeRawBufferPointer, length: Int) {
            head = UnsafeRawBufferPointer(start: startLine.baseAddress, count: length)
        }

        /// Keeps a checked field of the head; `inForm` when its line is `name: value` exactly.
        mutating func keep(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, inForm: Bool) {
            if copied == nil, inForm, let headStart = head.baseAddress, let nameStart = name.baseAddress {
                let start = headStart.distance(to: nameStart)
                if run == nil || run?.upperBound == start {
                    run = (run?.lowerBound ?? start)..<start + name.count + value.count + 4
                    return
                }
            }
            var lines = copied ?? FieldLines(capacity: head.count)
            copied = nil  // keeps the storage uniquely referenced while it grows
            if let run {
                lines.bytes.writeCopy(of: UnsafeRawBufferPointer(rebasing: head[run]))
                self.run = nil
            }
            lines.appendChecked(name: name, value: value)
            copied = lines
        }

        /// The fields kept, given the head's bytes (`readHead`'s answer).
        func fields(of headBytes: consuming ByteBuffer) -> FieldLines {
            if let copied { return copied }
            guard let run, run.upperBound <= headBytes.readableBytes else {
                assert(run == nil, "a run past the head it came from")
                return FieldLines()
            }
            if headBytes.storageCapacity > Self.largestSharedStorage {
                var lines = FieldLines(capacity: run.count)
                lines.bytes.writeCopy(of: UnsafeRawBufferPointer(rebasing: head[run]))
                return lines
            }
            headBytes.moveWriterIndex(to: headBytes.readerIndex + run.upperBound)
            headBytes.moveReaderIndex(forwardBy: run.lowerBound)
            return FieldLines(checkedLines: headBytes)
        }
    }
}
