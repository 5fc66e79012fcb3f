import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why bytes read over HTTP/1.x are not a message (RFC 9112). A client's become a 400
/// (`malformed request: <why>`), an upstream's a 502.
enum MalformedHTTP1: Error, Equatable, CustomStringConvertible {
    /// A request line that is not `method SP target SP HTTP/1.x`, or a byte of it not allowed.
    case requestLine
    /// A status line that is not `HTTP/1.x SP 3DIGIT [SP reason]`.
    case statusLine
    /// A version other than HTTP/1.0 and HTTP/1.1.
    case version
    /// A field line without a colon, with a name that is not a token (or space before the
    /// colon), or with a control character in its value.
    case fieldLine
    /// A field line that starts with a space or tab (obsolete line folding, RFC 9112 §5.2).
    case lineFolding
    /// A line that ends in LF without CR.
    case bareLineFeed
    /// A head, or a trailer section, over ``BuiltInLimits/http1HeaderBytes``.
    case headTooLarge
    /// A `content-length` that is not 1 to 18 decimal digits, or two that differ.
    case contentLength
    /// A response with both `content-length` and `transfer-encoding`.
    case lengthAndCoding
    /// A response whose `transfer-encoding` is not `chunked` alone: a coding the proxy cannot
    /// take off would reach the client unannounced (nginx and Apache Traffic Server refuse it
    /// too).
    case transferCoding
    /// A 101 Switching Protocols, which the proxy never asks for.
    case switchingProtocols
    /// Bytes from an upstream while no request waits for a response.
    case unsolicited
    /// A chunk-size line that is not hex digits with optional extensions, or over
    /// ``HTTP1MessageReader/chunkLineBytes``; or chunk data not followed by CRLF.
    case chunk

    var description: String {
        switch self {
        case .requestLine: "invalid request line"
        case .statusLine: "invalid status line"
        case .version: "unsupported HTTP version"
        case .fieldLine: "invalid header line"
        case .lineFolding: "obsolete line folding"
        case .bareLineFeed: "line ends without CR"
        case .headTooLarge: "head over \(BuiltInLimits.http1HeaderBytes / 1024) KiB"
        case .contentLength: "invalid Content-Length"
        case .lengthAndCoding: "both Content-Length and Transfer-Encoding"
        case .transferCoding: "unsupported Transfer-Encoding (only chunked is)"
        case .switchingProtocols: "101 Switching Protocols nobody asked for"
        case .unsolicited: "bytes when no response was due"
        case .chunk: "invalid chunk"
        }
    }
}

/// Where a parser of HTTP/1.x messages is in the one it reads.
enum HTTP1Phase {
    /// Waiting for a head.
    case head
    /// Reading the message's body.
    case body
    /// The message has no body: its end comes next.
    case end
}

/// Reads HTTP/1.x messages from the bytes of one connection (RFC 9112), for the parsers of
/// either direction (``ClientRequestParser``, ``UpstreamResponseParser``), which decide what
/// each head means and how its body is framed.
///
/// - A head is parsed where it lies in the read buffer (copied only when it came split over
///   reads): every line must end in CRLF, a field line is a token, a colon, and a value free of
///   control characters other than tab (spaces and tabs around it dropped), and a line that
///   starts with a space or tab (obsolete folding) is refused. A head, and a trailer section,
///   may be ``BuiltInLimits/http1HeaderBytes`` long.
/// - Body bytes are slices of the read buffer, never copied: `content-length` bytes, chunked
///   (chunk extensions checked and dropped, trailers kept), or everything until the input ends.
/// - Work is linear in the bytes fed however they are split: a head's end is searched for from
///   where the last search stopped.
struct HTTP1MessageReader {
    /// The longest chunk-size line (size and extensions).
    static let chunkLineBytes = 4096

    /// How a body is framed.
    enum Framing: Equatable {
        case length(Int)
        case chunked
        /// Until the connection closes (a response without a length).
        case untilClose
    }

    /// A piece of a body: bytes, or its end with any trailers.
    enum BodyPart {
        case data(ByteBuffer)
        case end(HTTPHeaders?)
    }

    private enum BodyState {
        case length(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    /// Bytes fed and not read yet; nil once every byte was read (an idle connection holds
    /// none). Read and moved in place through optional chaining: a copy taken out and stored
    /// back costs a retain and a release each use. (NIO's empty `ByteBuffer()` is not an
    /// empty buffer of its own but one storage the whole process shares: every loop would
    /// count its references, contending for one cache line.)
    private var buffer: ByteBuffer?
    /// How far into ``buffer`` the lines of an incomplete head or trailer section have been
    /// checked: the start of the line whose end has not come yet.
    private var scanned = 0
    /// The body being read, if one is.
    private var body: BodyState?

    /// Set once its parser stopped (an error, or a message after which nothing is read): bytes
    /// fed are dropped.
    private(set) var isStopped = false

    /// Reads nothing more, and forgets what was fed.
    mutating func stop() {
        isStopped = true
        buffer = nil
        body = nil
    }

    /// Adds bytes read from the connection (dropped once stopped). Bytes already read are
    /// dropped first: a head or body part read from the buffer may still hold its storage, and
    /// appending to shared storage would copy every byte before the unread ones, every read.
    mutating func feed(_ bytes: ByteBuffer) {
        if isStopped { return }
        if let unread = buffer?.readableBytes, unread > 0 {
            var bytes = bytes
            // Moves (or, when shared, copies) only the unread bytes: once a message was read,
            // not on every read of one that has not come whole (its bytes are all unread).
            buffer?.discardReadBytes()
            buffer?.writeBuffer(&bytes)
        } else {
            buffer = bytes
        }
    }

    /// Whether bytes were fed that have not been read.
    var hasUnreadBytes: Bool { (buffer?.readableBytes ?? 0) > 0 }

    /// Forgets the storage once every byte fed was read (an idle connection holds none).
    mutating func releaseIfRead() {
        if buffer?.readableBytes == 0 { buffer = nil }
    }

    // MARK: Heads

    /// Reads the next head (empty lines before it consumed, RFC 9112 §2.2): its first line goes
    /// to `startLine`, then each field's name and value (checked, spaces around the value
    /// dropped) to `keeping`, which says whether the field is kept. Returns the fields kept, as
    /// lines: a slice of the read buffer while they are in ``FieldLines``' form and follow one
    /// another there, copies otherwise (``FieldLines/Builder``). Nil, reading nothing, until the
    /// head has come whole.
    mutating func readHeadLines(
        startLine: (UnsafeRawBufferPointer) throws(MalformedHTTP1) -> Void,
        keeping: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
    ) throws(MalformedHTTP1) -> FieldLines? {
        guard let length = try sectionLength(skippingEmptyLines: true) else { return nil }
        // Not optional: an optional builder is tested and destroyed through its type's value
        // witnesses, which costs about 1 % of a request's time.
        var kept = FieldLines.Builder()
        let headBytes = try readSection(
            length: length, hasStartLine: true,
            startLine: { (line, length) throws(MalformedHTTP1) in
                try startLine(line)
                kept = FieldLines.Builder(startLine: line, length: length)
            },
            field: { name, value, inForm in
                if keeping(name, value) { kept.keep(name: name, value: value, inForm: inForm) }
            })
        guard let headBytes else { return FieldLines() }
        return kept.fields(of: headBytes)
    }

    /// The length of the head (or trailer section) at the start of the buffer, its final CRLF
    /// included; nil when its end has not come yet. Checks that every line ends in CRLF, and
    /// the size limit; searches only bytes it has not searched before.
    private mutating func sectionLength(skippingEmptyLines: Bool) throws(MalformedHTTP1) -> Int? {
        while true {
            var lineStart = scanned
            let end = try buffer?.withUnsafeReadableBytes { (bytes) throws(MalformedHTTP1) in
                try Self.sectionEnd(in: bytes, from: &lineStart)
            }
            scanned = lineStart
            guard let end else {
                if (buffer?.readableBytes ?? 0) > BuiltInLimits.http1HeaderBytes { throw .headTooLarge }
                return nil
            }
            scanned = 0
            if skippingEmptyLines, end == 2 {
                buffer?.moveReaderIndex(forwardBy: 2)
                continue
            }
            if end > BuiltInLimits.http1HeaderBytes { throw .headTooLarge }
            return end
        }
    }

    /// Where the first empty line of `bytes` ends, searching lines from `lineStart`; nil when
    /// none has come, with `lineStart` at the unfinished line.
    private static func sectionEnd(in bytes: UnsafeRawBufferPointer, from lineStart: inout Int) throws(MalformedHTTP1) -> Int? {
        while let lf = index(of: 0x0A, in: bytes, from: lineStart) {
            guard lf > 0, bytes[lf - 1] == 0x0D else { throw .bareLineFeed }
            if lf == lineStart + 1 { return lf + 1 }
            lineStart = lf + 1
        }
        return nil
    }

    /// Parses the first `length` bytes of the buffer, a section ``sectionLength`` found, and
    /// consumes them: a head (its first line given to `startLine`) or, without
    /// `hasStartLine`, a trailer section. Returns a head's bytes (a slice of the buffer, which
    /// the pointers given to `startLine` and `field` point into); nil for a trailer section.
    private mutating func readSection(
        length: Int,
        hasStartLine: Bool,
        startLine: (UnsafeRawBufferPointer, Int) throws(MalformedHTTP1) -> Void,
        field: (UnsafeRawBufferPointer, UnsafeRawBufferPointer, Bool) -> Void
    ) throws(MalformedHTTP1) -> ByteBuffer? {
        try buffer?.withUnsafeReadableBytes { (all) throws(MalformedHTTP1) in
            let section = UnsafeRawBufferPointer(rebasing: all[0..<length - 2])  // without the empty line
            var lineStart = 0
            var expectsStartLine = hasStartLine
            while lineStart < section.count {
                // Every line ends in CRLF (sectionEnd checked): the last one's CR ends the section.
                let lf = Self.index(of: 0x0A, in: section, from: lineStart) ?? section.count + 1
                let line = UnsafeRawBufferPointer(rebasing: section[lineStart..<lf - 1])
                lineStart = lf + 1
                if expectsStartLine {
                    expectsStartLine = false
                    try startLine(line, length)
                    continue
                }
                let (name, value) = try Self.fieldLine(line)
                field(name, value, line.count == name.count + 2 + value.count && line[name.count + 1] == UInt8(ascii: " "))
            }
        }
        guard hasStartLine else {
            buffer?.moveReaderIndex(forwardBy: length)
            return nil
        }
        return buffer?.readSlice(length: length)
    }

    /// A field as Strings: a trailer section's (``readBody()``).
    static func strings(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> (String, String) {
        (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    /// A field line's name and value (without surrounding spaces and tabs).
    private static func fieldLine(_ line: UnsafeRawBufferPointer) throws(MalformedHTTP1) -> (UnsafeRawBufferPointer, UnsafeRawBufferPointer) {
        guard let first = line.first else { throw .fieldLine }
        if isSpace(first) { throw .lineFolding }
        // The name runs to the first byte that is not a `tchar`, which must be the colon.
        let tokens = HeaderText.tokens
        var colon = 0
        while colon < line.count, tokens.contains(line[colon]) { colon += 1 }
        guard colon > 0, colon < line.count, line[colon] == UInt8(ascii: ":") else { throw .fieldLine }
        let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
        var start = colon + 1
        var end = line.count
        while start < end, isSpace(line[start]) { start += 1 }
        while end > start, isSpace(line[end - 1]) { end -= 1 }
        let value = UnsafeRawBufferPointer(rebasing: line[start..<end])
        guard HeaderText.isValue(value) else { throw .fieldLine }
        return (name, value)
    }

    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    /// The index of the first `byte` in `bytes` at or after `start`.
    @inline(__always)
    static func index(of byte: UInt8, in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress,
            let found = memchr(base + start, Int32(byte), bytes.count - start)
        else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// `HTTP/1.1` or `HTTP/1.0`; nil for anything else.
    static func version(_ bytes: UnsafeRawBufferPointer) -> HTTPVersion? {
        if HeaderText.equals(bytes, "HTTP/1.1") { return .http1_1 }
        if HeaderText.equals(bytes, "HTTP/1.0") { return .http1_0 }
        return nil
    }

    // MARK: Bodies

    /// Starts reading a body framed as `framing`.
    mutating func startBody(_ framing: Framing) {
        switch framing {
        case .length(let length): body = .length(remaining: length)
        case .chunked: body = .chunkSize
        case .untilClose: body = .untilClose
        }
    }

    /// The body's next piece (after ``startBody(_:)``), or nil until more bytes come. After its
    /// end, the next read is a head again.
    mutating func readBody() throws(MalformedHTTP1) -> BodyPart? {
        while let state = body {
            switch state {
            case .length(let remaining):
                guard remaining > 0 else {
                    body = nil
                    return .end(nil)
                }
                guard let slice = readBytes(upTo: remaining) else { return nil }
                body = .length(remaining: remaining - slice.readableBytes)
                return .data(slice)
            case .untilClose:
                guard let slice = readBytes(upTo: .max) else { return nil }
                return .data(slice)
            case .chunkSize:
                guard let size = try readChunkSize() else { return nil }
                body = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                guard let slice = readBytes(upTo: remaining) else { return nil }
                let left = remaining - slice.readableBytes
                body = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
                return .data(slice)
            case .chunkDataEnd:
                guard let unread = buffer?.readableBytes, unread >= 2 else { return nil }
                guard buffer?.readInteger(as: UInt16.self) == 0x0D0A else { throw .chunk }
                body = .chunkSize
            case .trailers:
                guard let length = try sectionLength(skippingEmptyLines: false) else { return nil }
                var fields: [(String, String)] = []
                _ = try readSection(
                    length: length, hasStartLine: false, startLine: { _, _ throws(MalformedHTTP1) in },
                    field: { name, value, _ in fields.append(Self.strings(name, value)) })
                body = nil
                return .end(fields.isEmpty ? nil : HTTPHeaders(fields))
            }
        }
        return nil
    }

    /// Whether the body being read runs until the input ends.
    var runsUntilClose: Bool {
        if case .untilClose = body { return true }
        return false
    }

    /// The input ended: the end of a body that runs until the close, or nil.
    mutating func inputEnded() -> BodyPart? {
        guard case .untilClose = body else { return nil }
        body = nil
        return .end(nil)
    }

    /// Up to `limit` body bytes, as a slice of the read buffer; nil when none are buffered.
    private mutating func readBytes(upTo limit: Int) -> ByteBuffer? {
        guard let unread = buffer?.readableBytes, unread > 0 else { return nil }
        return buffer?.readSlice(length: min(limit, unread))
    }

    /// The size of the next chunk, from its chunk-size line (extensions are checked and
    /// dropped), which it consumes; nil when the line has not come whole.
    private mutating func readChunkSize() throws(MalformedHTTP1) -> Int? {
        let parsed = try buffer?.withUnsafeReadableBytes { (bytes) throws(MalformedHTTP1) -> (size: Int, lineLength: Int)? in
            guard let lf = Self.index(of: 0x0A, in: bytes, from: 0) else {
                if bytes.count > Self.chunkLineBytes { throw .chunk }
                return nil
            }
            guard lf > 0, bytes[lf - 1] == 0x0D else { throw .bareLineFeed }
            guard lf <= Self.chunkLineBytes else { throw .chunk }
            return (try Self.chunkSize(UnsafeRawBufferPointer(rebasing: bytes[0..<lf - 1])), lf + 1)
        }
        guard let parsed else { return nil }
        buffer?.moveReaderIndex(forwardBy: parsed.lineLength)
        return parsed.size
    }

    /// `1*15HEXDIG [*(SP / HTAB) ";" extensions]`: the size (under 2⁶⁰).
    private static func chunkSize(_ line: UnsafeRawBufferPointer) throws(MalformedHTTP1) -> Int {
        var size = 0
        var index = 0
        while index < line.count, let digit = hexValue(line[index]) {
            guard index < 15 else { throw .chunk }
            size = size << 4 | digit
            index += 1
        }
        guard index > 0 else { throw .chunk }
        while index < line.count, isSpace(line[index]) { index += 1 }
        if index < line.count {
            guard line[index] == UInt8(ascii: ";") else { throw .chunk }
            for byte in line[index...] where !HeaderText.isValueByte(byte) { throw .chunk }
        }
        return size
    }

    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

/// The fields of a head that decide how its connection is read on (`content-length`,
/// `transfer-encoding`, RFC 9112 §6.3; `upgrade`), noted as its fields are read; each direction
/// decides what they mean.
struct FramingFields {
    /// The `content-length` every such field agrees on.
    private(set) var length: Int?
    /// A `content-length` that is not 1 to 18 digits, or two that differ.
    private(set) var lengthIsBad = false
    /// Whether a `transfer-encoding` came.
    private(set) var hasCoding = false
    /// Whether the last coding listed is `chunked`.
    private(set) var chunkedIsLast = false
    /// Whether one `transfer-encoding` came and says `chunked` alone: the one coding the proxy
    /// takes off and puts on again, and so the only one it can pass on without losing it.
    private(set) var isChunkedAlone = false
    /// Whether an `upgrade` came: the sender asks to switch protocols.
    private(set) var asksUpgrade = false

    /// Notes one field.
    mutating func note(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if name.count == 14, HeaderText.equalsIgnoringCase(name, "content-length") {
            guard let parsed = Self.decimal(value), length == nil || length == parsed else {
                lengthIsBad = true
                return
            }
            length = parsed
        } else if name.count == 17, HeaderText.equalsIgnoringCase(name, "transfer-encoding") {
            let last = Self.lastElement(value)
            let lastIsChunked = last.map { HeaderText.equalsIgnoringCase($0, "chunked") } ?? false
            if last != nil { chunkedIsLast = lastIsChunked }
            // A second field, or a list, is more than one coding.
            isChunkedAlone = !hasCoding && lastIsChunked && !value.contains(UInt8(ascii: ","))
            hasCoding = true
        } else if name.count == 7, HeaderText.equalsIgnoringCase(name, "upgrade") {
            asksUpgrade = true
        }
    }

    /// 1 to 18 decimal digits (RFC 9110 §8.6), as ``RequestBodyFraming`` reads them.
    private static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// The last non-empty element of a comma-separated list, without spaces around it.
    private static func lastElement(_ list: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        var end = list.count
        while end > 0 {
            var start = end
            while start > 0, list[start - 1] != UInt8(ascii: ",") { start -= 1 }
            var (from, to) = (start, end)
            while from < to, HTTP1MessageReader.isSpace(list[from]) { from += 1 }
            while to > from, HTTP1MessageReader.isSpace(list[to - 1]) { to -= 1 }
            if from < to { return UnsafeRawBufferPointer(rebasing: list[from..<to]) }
            end = start - 1
        }
        return nil
    }
}
