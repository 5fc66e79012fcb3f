import SwitchyardCore
import SwitchyardTestSupport
import Testing

@testable import StandardDiscovering

/// What a DNS server or an etcd gateway (or anything answering in their place) may send the
/// standard discoveries: truncated and looping DNS messages, answers to other questions, HTTP
/// framing with huge or malformed chunk sizes, endless lines. Each is refused with an error, never
/// a crash, a hang or an allocation by a length the peer chose.
@Suite("Hostile DNS and etcd answers")
struct HostileSourceTests {
    /// A well-formed answer to `query`: one A record, 10.0.0.7, TTL 30.
    static func answer(to query: DNSQuery) -> [UInt8] {
        var message: [UInt8] = [UInt8(query.id >> 8), UInt8(query.id & 0xFF), 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]
        message += query.bytes[12...]  // the question, as asked
        message += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 7]  // name: a pointer to the question's
        return message
    }

    let query = DNSQuery(name: DNSName("web.test")!, type: .a)

    @Test("a well-formed answer parses")
    func wellFormed() throws {
        let response = try DNSResponse(parsing: Self.answer(to: query), for: query)
        #expect(response.rcode == 0 && response.answers.count == 1 && response.answers[0].ttl == 30)
        guard case .address(let bytes) = response.answers.first?.data else { Issue.record("no address"); return }
        #expect(bytes == [10, 0, 0, 7])
    }

    @Test("every truncation of an answer is refused")
    func truncated() {
        let message = Self.answer(to: query)
        for length in 0..<message.count {
            #expect(throws: DNSParseError.self) { try DNSResponse(parsing: Array(message.prefix(length)), for: query) }
        }
    }

    @Test("an answer to another ID, or to another question, is not taken (over UDP, a spoofing attempt)")
    func mismatch() {
        var otherID = Self.answer(to: query)
        otherID[1] ^= 0xFF
        #expect(throws: DNSParseError.mismatch("ID \(query.id ^ 0xFF), expected \(query.id)")) { try DNSResponse(parsing: otherID, for: query) }
        let other = DNSQuery(name: DNSName("evil.test")!, type: .a)
        var otherQuestion = Self.answer(to: other)
        otherQuestion[0] = UInt8(query.id >> 8)
        otherQuestion[1] = UInt8(query.id & 0xFF)
        #expect {
            try DNSResponse(parsing: otherQuestion, for: query)
        } throws: { error in
            if case .mismatch = error as? DNSParseError { return true }
            return false
        }
    }

    @Test(
        "compression pointers that loop or point forward, and counts larger than the message, are malformed",
        arguments: [
            ("a pointer to itself", [0xC0, 0x1A] as [UInt8]),
            ("a pointer forward", [0xC0, 0x40]),
            ("a label past the end", [0x3F, 0x61]),
        ])
    func badNames(_ what: String, _ name: [UInt8]) {
        var message = Self.answer(to: query)
        // Replace the answer's owner name (the pointer at offset 26) with `name`.
        message.replaceSubrange(26..<28, with: name)
        #expect(throws: DNSParseError.self, "\(what)") { try DNSResponse(parsing: message, for: query) }
    }

    @Test("an answer count of 65535 over a short message is malformed, not a large allocation")
    func hugeCount() {
        var message = Self.answer(to: query)
        message[6] = 0xFF
        message[7] = 0xFF
        #expect(throws: DNSParseError.self) { try DNSResponse(parsing: message, for: query) }
    }

    @Test("20000 seeded mutations of an answer parse or are refused, never crash")
    func mutations() {
        let seed: UInt64 = 20_261_127
        var random = Xoshiro256(seed: seed)
        let base = Self.answer(to: query)
        var refused = 0
        for _ in 0..<20_000 {
            var message = base
            for _ in 0...random.next(below: 4) {
                let i = random.next(below: message.count)
                message[i] = UInt8(truncatingIfNeeded: random.next())
            }
            if random.next(below: 4) == 0 { message = Array(message.prefix(random.next(below: message.count))) }
            do {
                _ = try DNSResponse(parsing: message, for: query)
            } catch {
                refused += 1
            }
        }
        #expect(refused > 0, "seed \(seed)")
    }

    @Test("chunked framing split a byte at a time decodes; oversized or malformed chunk sizes and endless trailers are refused")
    func chunked() throws {
        var decoder = HTTPBodyDecoder(framing: .chunked)
        var payload: [UInt8] = []
        for byte in Array("5;ext=1\r\nhello\r\n0\r\nx-trailer: 1\r\n\r\n".utf8) { try decoder.feed([byte], into: &payload) }
        #expect(payload == Array("hello".utf8) && decoder.isComplete)

        for hostile in [
            String(repeating: "1", count: HTTPBodyDecoder.maxChunkLineBytes + 3),  // a size line that never ends (its CR LF allowed for)
            "FFFFFFFFFFFFFFFFFFFF\r\n",  // a size past Int
            "zz\r\n",  // not hex
            "5\r\nhelloX\r\n",  // payload longer than its size
        ] {
            var decoder = HTTPBodyDecoder(framing: .chunked)
            var payload: [UInt8] = []
            #expect(throws: EtcdError.self, "\(hostile.prefix(40))") { try decoder.feed(ArraySlice(hostile.utf8), into: &payload) }
        }
        var trailers = HTTPBodyDecoder(framing: .chunked)
        #expect(throws: EtcdError.self) {
            try trailers.feed(ArraySlice(("0\r\n" + String(repeating: "x-a: b\r\n", count: 3000)).utf8), into: &payload)
        }
    }

    @Test("response heads that are not HTTP, or frame their body two ways, are refused")
    func heads() {
        for head in ["", "garbage", "HTTP/1.1 99999 Huge", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2", "HTTP/1.1 200 OK\r\nContent-Length: -1",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked", "HTTP/1.1 200 OK\r\n folded: header"]
        {
            #expect(throws: EtcdError.self, "\(head)") { try HTTPResponseHead(parsing: ArraySlice(head.utf8)) }
        }
    }

    @Test("a watch stream line longer than its bound is refused before it is complete")
    func endlessLine() throws {
        var lines = JSONLineBuffer(maxLineBytes: 64)
        lines.append(Array(String(repeating: "x", count: 65).utf8))
        #expect(throws: EtcdError.self) { try lines.nextLine() }
        var fine = JSONLineBuffer(maxLineBytes: 64)
        fine.append(Array("{\"a\":1}\n\n{\"b\"".utf8))
        #expect(try fine.nextLine().map { Array($0) } == Array("{\"a\":1}".utf8))
        #expect(try fine.nextLine() == nil)
    }

    @Test("base64 from the gateway is decoded strictly", arguments: ["a", "a===", "ab!=", "YQ==YQ==", "Y Q=="])
    func base64(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test("a DNS server that never answers fails the lookup in timeout x attempts, and a stop ends the wait at once")
    func silentServer() throws {
        let port = try Peers.freePort()
        let client = DNSClient(servers: [DNSServer(host: "127.0.0.1", port: UInt16(port))], timeout: .milliseconds(200), attempts: 2)
        let clock = ContinuousClock()
        var result: DNSResult?
        let took = clock.measure { result = client.resolve("web.test", port: 80, stop: StopSignal()) }
        guard case .failure = result else { Issue.record("expected a failure, got \(String(describing: result))"); return }
        #expect(took < .seconds(5), "took \(took)")

        let stop = StopSignal()
        stop.stop()
        let stopped = clock.measure { result = client.resolve("web.test", port: 80, stop: stop) }
        #expect(stopped < .milliseconds(500), "took \(stopped)")
    }
}
