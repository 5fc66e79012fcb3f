/// Why a received message cannot be used as the answer to a query.
enum DNSParseError: Error, Equatable, CustomStringConvertible {
    /// Not an answer to this query (another ID, not a response, another question): over UDP,
    /// ignore it and keep waiting.
    case mismatch(String)
    /// Answers this query but breaks the format.
    case malformed(String)

    /// What is wrong, for messages.
    var description: String {
        switch self {
        case .mismatch(let reason): "not an answer to the query: \(reason)"
        case .malformed(let reason): "malformed response: \(reason)"
        }
    }
}

/// A standard query for one name and type, class IN, recursion desired.
struct DNSQuery {
    /// The random ID the response must echo.
    let id: UInt16

    /// The name asked about.
    let name: DNSName

    /// The type asked for.
    let type: DNSRecordType

    /// The message on the wire, without the TCP length prefix.
    let bytes: [UInt8]

    /// A query with a fresh random ID.
    init(name: DNSName, type: DNSRecordType) {
        let id = UInt16.random(in: .min ... .max)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(12 + DNSName.maxWireLength + 4)
        bytes.appendUInt16(id)
        bytes.appendUInt16(0x0100)  // QR=0, opcode QUERY, RD=1
        bytes.appendUInt16(1)  // QDCOUNT
        bytes.appendUInt16(0)  // ANCOUNT
        bytes.appendUInt16(0)  // NSCOUNT
        bytes.appendUInt16(0)  // ARCOUNT
        name.encode(into: &bytes)
        bytes.appendUInt16(type.rawValue)
        bytes.appendUInt16(DNSResponse.classIN)
        self.id = id
        self.name = name
        self.type = type
        self.bytes = bytes
    }
}

/// A response that answers a ``DNSQuery``: its header checked against the query and, for
/// NOERROR responses that are not truncated, its answer and additional records.
struct DNSResponse {
    /// Class IN.
    static let classIN: UInt16 = 1

    /// The response code: 0 NOERROR, 3 NXDOMAIN, others failures.
    let rcode: UInt8

    /// The TC bit: the answer did not fit and must be asked for again over TCP. Sections are
    /// then left unread.
    let isTruncated: Bool

    /// The answer section's class-IN A, AAAA, CNAME and SRV records (others skipped).
    let answers: [DNSRecord]

    /// The additional section's class-IN A, AAAA, CNAME and SRV records (others skipped).
    let additionals: [DNSRecord]

    /// The response code's mnemonic, for messages.
    var rcodeName: String {
        switch rcode {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        default: "RCODE \(rcode)"
        }
    }

    /// Parses `message` as the response to `query`.
    ///
    /// Throws ``DNSParseError/mismatch(_:)`` unless the ID, the QR bit, the opcode and the
    /// single question (name compared case-insensitively, type, class) match the query, and
    /// ``DNSParseError/malformed(_:)`` when any part read runs past the end or breaks a rule.
    /// Sections are read only for NOERROR responses without TC; the authority section is
    /// skipped.
    init(parsing message: [UInt8], for query: DNSQuery) throws(DNSParseError) {
        var reader = DNSReader(message)
        guard message.count >= 12 else { throw .mismatch("message shorter than a header") }
        let id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        let questionCount = try reader.readUInt16()
        let answerCount = try reader.readUInt16()
        let authorityCount = try reader.readUInt16()
        let additionalCount = try reader.readUInt16()
        guard id == query.id else { throw .mismatch("ID \(id), expected \(query.id)") }
        guard flags & 0x8000 != 0 else { throw .mismatch("not a response") }
        guard flags & 0x7800 == 0 else { throw .mismatch("opcode is not QUERY") }
        guard questionCount == 1 else { throw .mismatch("\(questionCount) questions, expected 1") }
        let name: DNSName
        let type: UInt16
        let questionClass: UInt16
        do throws(DNSParseError) {
            name = try reader.readName()
            type = try reader.readUInt16()
            questionClass = try reader.readUInt16()
        } catch {
            throw .mismatch("unreadable question")
        }
        guard name == query.name, type == query.type.rawValue, questionClass == Self.classIN else {
            throw .mismatch("question \(name) type \(type) class \(questionClass) is not the one asked")
        }
        rcode = UInt8(flags & 0x000F)
        isTruncated = flags & 0x0200 != 0
        guard rcode == 0, !isTruncated else {
            answers = []
            additionals = []
            return
        }
        answers = try reader.readRecords(count: answerCount)
        _ = try reader.readRecords(count: authorityCount)
        additionals = try reader.readRecords(count: additionalCount)
    }
}

/// A cursor over a DNS message that throws ``DNSParseError/malformed(_:)`` rather than read
/// past the end.
private struct DNSReader {
    private let message: [UInt8]
    private var offset = 0

    init(_ message: [UInt8]) {
        self.message = message
    }

    mutating func readUInt8() throws(DNSParseError) -> UInt8 {
        guard offset < message.count else { throw .malformed("message ends early") }
        defer { offset += 1 }
        return message[offset]
    }

    mutating func readUInt16() throws(DNSParseError) -> UInt16 {
        let high = try readUInt8()
        let low = try readUInt8()
        return UInt16(high) << 8 | UInt16(low)
    }

    mutating func readUInt32() throws(DNSParseError) -> UInt32 {
        let high = try readUInt16()
        let low = try readUInt16()
        return UInt32(high) << 16 | UInt32(low)
    }

    mutating func readName() throws(DNSParseError) -> DNSName {
        try DNSName.decode(from: message, at: &offset)
    }

    /// Reads `count` records, keeping those ``readRecord()`` understands. Each record takes at
    /// least 11 bytes, so a count larger than the message can hold fails early.
    mutating func readRecords(count: UInt16) throws(DNSParseError) -> [DNSRecord] {
        guard Int(count) * 11 <= message.count - offset else {
            throw .malformed("\(count) records cannot fit in the \(message.count - offset) bytes left")
        }
        var records: [DNSRecord] = []
        for _ in 0..<count {
            if let record = try readRecord() {
                records.append(record)
            }
        }
        return records
    }

    /// Reads one record; nil for a class other than IN or a type not in ``DNSRecordType``. The
    /// data length must fit the message and match what the type's data takes.
    private mutating func readRecord() throws(DNSParseError) -> DNSRecord? {
        let name = try readName()
        let rawType = try readUInt16()
        let recordClass = try readUInt16()
        let rawTTL = try readUInt32()
        let length = Int(try readUInt16())
        let end = offset + length
        guard end <= message.count else { throw .malformed("record data runs past the end") }
        guard recordClass == DNSResponse.classIN, let type = DNSRecordType(rawValue: rawType) else {
            offset = end
            return nil
        }
        let data: DNSRecordData
        switch type {
        case .a, .aaaa:
            let size = type == .a ? 4 : 16
            guard length == size else { throw .malformed("\(type) record with \(length) data bytes") }
            data = .address(Array(message[offset..<end]))
            offset = end
        case .cname:
            data = .cname(try readName())
        case .srv:
            let priority = try readUInt16()
            let weight = try readUInt16()
            let port = try readUInt16()
            data = .srv(priority: priority, weight: weight, port: port, target: try readName())
        }
        guard offset == end else { throw .malformed("\(type) record data is not \(length) bytes") }
        return DNSRecord(name: name, ttl: rawTTL > UInt32(Int32.max) ? 0 : rawTTL, data: data)
    }
}

extension [UInt8] {
    /// Appends `value` in network order.
    fileprivate mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(value & 0xFF))
    }
}
