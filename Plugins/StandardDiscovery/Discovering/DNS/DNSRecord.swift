/// The record types the stub resolver asks for or follows.
enum DNSRecordType: UInt16, CustomStringConvertible {
    /// An IPv4 address.
    case a = 1
    /// An alias: the owner is another name for the target.
    case cname = 5
    /// An IPv6 address.
    case aaaa = 28
    /// A service location (RFC 2782).
    case srv = 33

    /// The type's mnemonic, for messages.
    var description: String {
        switch self {
        case .a: "A"
        case .cname: "CNAME"
        case .aaaa: "AAAA"
        case .srv: "SRV"
        }
    }
}

/// One class-IN resource record of a type in ``DNSRecordType``.
struct DNSRecord {
    /// The owner name.
    let name: DNSName

    /// Seconds the record may be cached (values over 2^31 - 1 read as 0, RFC 2181).
    let ttl: UInt32

    /// The record data.
    let data: DNSRecordData

    /// The type of ``data``.
    var type: DNSRecordType {
        switch data {
        case .address(let bytes): bytes.count == 4 ? .a : .aaaa
        case .cname: .cname
        case .srv: .srv
        }
    }
}

/// The data of a ``DNSRecord``.
enum DNSRecordData {
    /// An A (4 bytes) or AAAA (16 bytes) address, in network order.
    case address([UInt8])
    /// A CNAME's target.
    case cname(DNSName)
    /// An SRV record's fields.
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
}
