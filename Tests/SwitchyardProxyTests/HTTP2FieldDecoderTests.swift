import NIOCore
import NIOHPACK
import Testing

@testable import SwitchyardProxy

extension HTTP2ReceivedFields {
    /// A block of `fields`, as the decoder would give it.
    init(_ fields: [(String, String)]) {
        self.init()
        for (name, value) in fields {
            _ = append { $0.writeString(name) } value: { $0.writeString(value) }
        }
    }

    /// The fields as "name: value" lines.
    var lines: [String] {
        var lines: [String] = []
        forEach { name, value in lines.append("\(String(decoding: name, as: UTF8.self)): \(String(decoding: value, as: UTF8.self))") }
        return lines
    }
}

/// ``HTTP2FieldDecoder``: RFC 7541's own examples, what NIO's encoder (a peer's) writes in
/// every form, and blocks built to break it, each of which must fail as a decoding error and
/// never trap or grow past its limits.
@Suite("HTTP/2 field decoder")
struct HTTP2FieldDecoderTests {
    static func bytes(_ hex: String) -> ByteBuffer {
        let digits = Array(hex.filter { !$0.isWhitespace })
        return ByteBuffer(bytes: stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16) ?? 0 })
    }

    static func decoded(_ blocks: [String], maxTableSize: Int = 4_096) throws -> [[String]] {
        var decoder = HTTP2FieldDecoder(maxTableSize: maxTableSize, maxListSize: 1 << 16)
        return try blocks.map { try decoder.decode(bytes($0)).lines }
    }

    @Test("RFC 7541 C.3 and C.4: three requests on one connection, literal and Huffman-coded, each using the entries the one before added")
    func requestExamples() throws {
        let first = [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"]
        let second = first + ["cache-control: no-cache"]
        let third = [":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com", "custom-key: custom-value"]
        let literal = ["8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", "8286 84be 5808 6e6f 2d63 6163 6865",
                       "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65"]
        let huffman = ["8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", "8286 84be 5886 a8eb 1064 9cbf",
                       "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"]
        #expect(try Self.decoded(literal) == [first, second, third])
        #expect(try Self.decoded(huffman) == [first, second, third])
    }

    @Test("RFC 7541 C.6: three responses through a 256-byte table, which evicts its oldest entries to take new ones")
    func responseExamples() throws {
        let blocks = [
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ]
        let tail = ["cache-control: private", "date: Mon, 21 Oct 2013 20:13:21 GMT", "location: https://www.example.com"]
        #expect(
            try Self.decoded(blocks, maxTableSize: 256) == [
                [":status: 302"] + tail, [":status: 307"] + tail,
                [
                    ":status: 200", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:22 GMT", "location: https://www.example.com",
                    "content-encoding: gzip", "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
                ],
            ])
    }

    @Test("what NIO's encoder writes, Huffman-coded or not, indexed, not indexed or never indexed, over a run of blocks, reads back as it went in")
    func readsNIOEncoder() throws {
        var random = SplitMix(seed: 7)
        var decoder = HTTP2FieldDecoder(maxListSize: 1 << 20)
        for useHuffman in [true, false] {
            var encoder = HPACKEncoder(allocator: ByteBufferAllocator(), useHuffmanEncoding: useHuffman)
            for _ in 0..<200 {
                var fields = HPACKHeaders()
                var lines: [String] = []
                for _ in 0..<random.next(below: 12) {
                    // Names and values from small sets, so entries repeat and get indexed.
                    let name = ["x-a", "accept", "user-agent", "x-long-name-\(random.next(below: 3))", ":path"][random.next(below: 5)]
                    let value = String((0..<random.next(below: 40)).map { _ in Character(Unicode.Scalar(UInt8(32 + random.next(below: 95)))) })
                    let indexing: HPACKIndexing = [.indexable, .nonIndexable, .neverIndexed][random.next(below: 3)]
                    fields.add(name: name, value: value, indexing: indexing)
                    lines.append("\(name): \(value)")
                }
                var block = ByteBuffer()
                try encoder.encode(headers: fields, to: &block)
                #expect(try decoder.decode(block).lines == lines)
            }
        }
    }

    @Test("a literal with incremental indexing may name the entry its own addition evicts: the name survives (RFC 7541 §4.4)")
    func nameOfEvictedEntry() throws {
        var decoder = HTTP2FieldDecoder(maxTableSize: 100, maxListSize: 1 << 16)
        let name = String(repeating: "n", count: 20)
        var first = ByteBuffer(bytes: [0x40, 20])  // incremental indexing, a new name
        first.writeString(name)
        first.writeBytes([20] + Array(repeating: UInt8(ascii: "v"), count: 20))
        #expect(try decoder.decode(first).lines == ["\(name): \(String(repeating: "v", count: 20))"])
        // Entry 62's name with a new value: 72 + 72 bytes do not fit in 100, so 62 goes first.
        let second = ByteBuffer(bytes: [0x7E, 20] + Array(repeating: UInt8(ascii: "w"), count: 20))
        #expect(try decoder.decode(second).lines == ["\(name): \(String(repeating: "w", count: 20))"])
        #expect(try decoder.decode(ByteBuffer(bytes: [0xBE])).lines == ["\(name): \(String(repeating: "w", count: 20))"])
        #expect(throws: HTTP2FieldDecoder.Failure.self) { try decoder.decode(ByteBuffer(bytes: [0xBF])) }
    }

    @Test("a field larger than the whole table empties it and is still a field (RFC 7541 §4.4); a size update to 0 empties it too")
    func oversizedEntry() throws {
        var decoder = HTTP2FieldDecoder(maxTableSize: 64, maxListSize: 1 << 16)
        _ = try decoder.decode(ByteBuffer(bytes: [0x41, 1, UInt8(ascii: "a")]))  // :authority: a, 42 bytes
        #expect(try decoder.decode(ByteBuffer(bytes: [0xBE])).lines == [":authority: a"])
        let big = ByteBuffer(bytes: [0x40, 1, UInt8(ascii: "x"), 40] + Array(repeating: UInt8(ascii: "y"), count: 40))
        #expect(try decoder.decode(big).lines == ["x: \(String(repeating: "y", count: 40))"])
        #expect(throws: HTTP2FieldDecoder.Failure.self, "the table is empty") { try decoder.decode(ByteBuffer(bytes: [0xBE])) }
        _ = try decoder.decode(ByteBuffer(bytes: [0x41, 1, UInt8(ascii: "a")]))
        #expect(try decoder.decode(ByteBuffer(bytes: [0x20, 0x82])).lines == [":method: GET"])
        #expect(throws: HTTP2FieldDecoder.Failure.self, "the size update evicted it") { try decoder.decode(ByteBuffer(bytes: [0xBE])) }
    }

    @Test(
        "each broken block is a decoding error",
        arguments: [
            ("index 0", [0x80]),
            ("an index past the tables", [0xBE]),
            ("an integer past 2^28", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
            ("an integer cut off", [0xFF, 0x80]),
            ("a string past the block's end", [0x00, 0x05, 0x61]),
            ("a name's length cut off", [0x00]),
            ("a size update over 4,096", [0x3F, 0xE2, 0x1F]),
            ("a size update after a field", [0x82, 0x20]),
            ("three size updates in a row", [0x20, 0x3F, 0x01, 0x20, 0x82]),
            ("EOS in a Huffman-coded string", [0x00, 0x01, 0x61, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]),
            ("Huffman padding of 11 bits", [0x00, 0x01, 0x61, 0x82, 0x1F, 0xFF]),
            ("Huffman padding that is not all ones", [0x00, 0x01, 0x61, 0x81, 0x18]),
        ] as [(String, [UInt8])])
    func brokenBlocks(_ name: String, _ block: [UInt8]) throws {
        var decoder = HTTP2FieldDecoder(maxListSize: 1 << 16)
        #expect(throws: HTTP2FieldDecoder.Failure.self, "\(name)") { try decoder.decode(ByteBuffer(bytes: block)) }
    }

    @Test("the same bytes with their flaws mended decode: a size update first, a Huffman string with its padding right")
    func mendedBlocks() throws {
        var decoder = HTTP2FieldDecoder(maxListSize: 1 << 16)
        #expect(try decoder.decode(ByteBuffer(bytes: [0x20, 0x82])).lines == [":method: GET"])
        #expect(try decoder.decode(ByteBuffer(bytes: [0x20, 0x3F, 0x01, 0x82])).lines == [":method: GET"], "two size updates: the smallest, then the final")
        #expect(try decoder.decode(ByteBuffer(bytes: [0x00, 0x01, 0x61, 0x81, 0x1F])).lines == ["a: a"], "'a' is 00011, then three bits of padding")
    }

    @Test("fields past the list limit fail, whether sent as literals or as one entry repeated by index, before they take more than the limit and a field")
    func listLimit() throws {
        var decoder = HTTP2FieldDecoder(maxListSize: 1_000)
        let value = Array(repeating: UInt8(ascii: "v"), count: 400)
        let entry = ByteBuffer(bytes: [0x40, 1, UInt8(ascii: "x"), 0x7F, 0x91, 0x02] + value)
        #expect(try decoder.decode(entry).count == 1)
        #expect(try decoder.decode(ByteBuffer(bytes: [0xBE, 0xBE])).count == 2, "2 × 433 bytes")
        #expect(throws: HTTP2FieldDecoder.Failure.self) { try decoder.decode(ByteBuffer(bytes: Array(repeating: 0xBE, count: 10_000))) }
        #expect(throws: HTTP2FieldDecoder.Failure.self) { try decoder.decode(ByteBuffer(bytes: Array(repeating: 0x82, count: 100))) }
    }

    @Test("the decoder keeps a small block's storage for the next, and lets a large one's go (an idle connection does not hold a peer's largest block)")
    func keptStorage() throws {
        var decoder = HTTP2FieldDecoder(maxListSize: 1 << 16)
        _ = try decoder.decode(ByteBuffer(bytes: [0x82, 0x84]))
        let small = decoder.keptBytes
        #expect(small > 0 && small <= HTTP2FieldDecoder.keptStorageBytes)
        let large = try decoder.decode(ByteBuffer(bytes: [0x00, 1, UInt8(ascii: "x"), 0x7F, 0x81, 0x3F] + Array(repeating: UInt8(ascii: "v"), count: 8_192)))
        #expect(large.lines == ["x: \(String(repeating: "v", count: 8_192))"], "the block handed on is whole")
        #expect(decoder.keptBytes == 0)
        #expect(try decoder.decode(ByteBuffer(bytes: [0x82])).lines == [":method: GET"])
    }

    @Test("random bytes never trap the decoder: each block decodes or fails, and the next still decodes")
    func randomBlocks() throws {
        var random = SplitMix(seed: 11)
        var decoder = HTTP2FieldDecoder(maxListSize: 4_096)
        var failures = 0
        for _ in 0..<5_000 {
            // Mostly field representations' first bytes, so the decoder gets past the first.
            let block = (0..<random.next(below: 24)).map { _ in UInt8(truncatingIfNeeded: random.next(below: 256)) }
            do {
                _ = try decoder.decode(ByteBuffer(bytes: block))
            } catch {
                failures += 1
            }
        }
        #expect(failures > 0 && failures < 5_000)
        #expect(try decoder.decode(ByteBuffer(bytes: [0x82])).lines == [":method: GET"])
    }
}

/// A small seeded generator (SplitMix64), so a failing run repeats.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}
