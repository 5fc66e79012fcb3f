/// An absolute domain name as lower-cased labels, so equal names compare equal whatever their
/// ASCII case.
struct DNSName: Hashable, CustomStringConvertible {
    /// The longest label, in bytes.
    static let maxLabelLength = 63

    /// The longest name as text, without the final dot.
    static let maxTextLength = 253

    /// The longest name on the wire, length bytes and the final zero included.
    static let maxWireLength = 255

    /// The most compression pointers one name may follow.
    static let maxPointerJumps = 64

    /// The labels, first (leftmost) first, ASCII letters lower-cased.
    let labels: [[UInt8]]

    private init(labels: [[UInt8]]) {
        self.labels = labels
    }

    /// Parses `text`, absolute whether or not it ends in "."; nil when it is empty, has an
    /// empty label, a label over 63 bytes, more than 253 bytes in all, or a byte that is not
    /// printable ASCII.
    init?(_ text: String) {
        var bytes = Array(text.utf8)
        if bytes.last == UInt8(ascii: ".") {
            bytes.removeLast()
        }
        guard !bytes.isEmpty, bytes.count <= Self.maxTextLength,
            bytes.allSatisfy({ (0x21...0x7E).contains($0) })
        else { return nil }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.allSatisfy({ !$0.isEmpty && $0.count <= Self.maxLabelLength }) else { return nil }
        self.init(labels: labels.map(Self.lowercased))
    }

    /// The root name, ".", which has no labels.
    var isRoot: Bool {
        labels.isEmpty
    }

    /// The name as text, without the final dot (root is "."); bytes other than printable
    /// ASCII, and dots and backslashes inside labels, as `\DDD`.
    var description: String {
        guard !isRoot else { return "." }
        var text = ""
        for (index, label) in labels.enumerated() {
            if index > 0 {
                text += "."
            }
            for byte in label {
                if (0x21...0x7E).contains(byte), byte != UInt8(ascii: "."), byte != UInt8(ascii: "\\") {
                    text.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
        }
        return text
    }

    /// Appends the name in wire format (uncompressed).
    func encode(into message: inout [UInt8]) {
        for label in labels {
            message.append(UInt8(label.count))
            message.append(contentsOf: label)
        }
        message.append(0)
    }

    /// Reads a name at `offset` in `message`, following compression pointers, and moves
    /// `offset` past the name as it appears there.
    ///
    /// Each pointer must point before the start of the labels being read, so pointers only
    /// ever go backwards and cannot loop; at most ``maxPointerJumps`` are followed and the
    /// name may be at most ``maxWireLength`` bytes long.
    static func decode(from message: [UInt8], at offset: inout Int) throws(DNSParseError) -> DNSName {
        var labels: [[UInt8]] = []
        var wireLength = 1
        var position = offset
        var segmentStart = offset
        var jumps = 0
        var end: Int?
        while true {
            guard position >= 0, position < message.count else { throw .malformed("name runs past the end") }
            let length = Int(message[position])
            switch length & 0xC0 {
            case 0x00:
                guard length > 0 else {
                    offset = end ?? position + 1
                    return DNSName(labels: labels)
                }
                let start = position + 1
                guard start + length <= message.count else { throw .malformed("label runs past the end") }
                wireLength += 1 + length
                guard wireLength <= maxWireLength else { throw .malformed("name longer than 255 bytes") }
                labels.append(lowercased(message[start..<start + length]))
                position = start + length
            case 0xC0:
                guard position + 1 < message.count else { throw .malformed("pointer runs past the end") }
                let target = (length & 0x3F) << 8 | Int(message[position + 1])
                guard target < segmentStart else { throw .malformed("compression pointer does not point backwards") }
                jumps += 1
                guard jumps <= maxPointerJumps else { throw .malformed("too many compression pointers") }
                if end == nil {
                    end = position + 2
                }
                segmentStart = target
                position = target
            default:
                throw .malformed("unsupported label type")
            }
        }
    }

    /// `label` with ASCII capitals made small.
    private static func lowercased(_ label: some Collection<UInt8>) -> [UInt8] {
        label.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }
    }
}
