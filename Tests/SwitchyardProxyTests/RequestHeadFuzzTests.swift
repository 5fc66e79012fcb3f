import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import SwitchyardCore
import Testing

@testable import SwitchyardProxy

/// A seeded mutation fuzzer for what a client's bytes go through before routing: the
/// ``ClientRequestDecoder``, then ``RequestValidation`` and the body framing, then a ``Router`` with
/// every kind of match. Inputs are mutated from a corpus of real and hostile heads. Bounded
/// in count and time; `SWITCHYARD_FUZZ_SEED` and `SWITCHYARD_FUZZ_ITERATIONS` run it longer or
/// replay a seed.
@Suite("Request-head fuzzing")
struct RequestHeadFuzzTests {
    static let corpus: [String] = [
        "GET / HTTP/1.1\r\nHost: web.test:80\r\n\r\n",
        "GET /api/users?id=7&x=1 HTTP/1.1\r\nHost: web.test\r\nX-Canary: 1\r\nCookie: a=b\r\n\r\n",
        "POST /upload HTTP/1.1\r\nHost: web.test\r\nContent-Length: 5\r\n\r\nhello",
        "POST /chunks HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: web.test\r\nConnection: content-length\r\nContent-Length: 4\r\n\r\nGET ",
        "GET / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
        "GET http://web.test/abs HTTP/1.1\r\nHost: other.test\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: web.test\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: web.test\r\n\r\nGET /b HTTP/1.1\r\nHost: web.test\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 1, 1\r\n\r\nx",
        "GET / HTTP/1.1\r\nHost: web.test\r\nX-Folded: a\r\n b\r\n\r\n",
        "PUT /x HTTP/1.1\r\nHost: [::1]:8080\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
        // Found by this fuzzer: an empty Transfer-Encoding beside Content-Length passed NIO.
        "POST /chunks HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: \r\nContent-Length: 2\r\n\r\nok",
    ]

    /// Bytes that break parsers: line ends, separators, NUL, non-ASCII, digits and signs.
    static let interesting: [UInt8] = Array("\r\n :,;\t\0/?#%-+0123456789aZ".utf8) + [0x7F, 0x80, 0xC3, 0xFF]

    static let router = Router(routes: [
        RoutePolicy(
            route: RouteRef(.default(name: "http")),
            rules: [
                RouteRule(
                    matches: .http([
                        HTTPRouteMatch(path: .exact("/api/users"), headers: [ValueMatch(name: "x-canary", value: .exact("1"))], method: "GET"),
                        HTTPRouteMatch(path: .prefix("/api"), queryParameters: [ValueMatch(name: "id", value: .exact("7"))]),
                    ]), filters: [], distribution: .firstAvailable, backends: []),
                RouteRule(
                    matches: .http([HTTPRouteMatch(path: .regex(try! RegexPattern("/u+p.*")))]), filters: [], distribution: .firstAvailable,
                    backends: []),
            ])
    ])

    /// One input through the decoder, validation, framing and the router; checks what must
    /// hold of every request that is let through.
    @discardableResult
    func check(_ input: [UInt8]) -> Int {
        let channel = EmbeddedChannel(handler: ClientRequestDecoder())
        defer { _ = try? channel.finish() }
        var buffer = channel.allocator.buffer(capacity: input.count)
        buffer.writeBytes(input)
        do {
            try channel.writeInbound(buffer)
        } catch {
            // The decoder refused the bytes: the proxy answers 400 and closes.
        }
        var heads = 0
        while let part = try? channel.readInbound(as: RequestPart.self) {
            guard case .head(var head) = part else { continue }
            heads += 1
            switch RequestValidation.validate(&head, maxHeaders: 100) {
            case .failure(let answer):
                #expect([400, 431, 501].contains(answer.status.code), "\(answer)")
            case .success(let valid):
                let hosts = head.fields.values(name: "host")
                #expect(hosts.count == 1 || (hosts.isEmpty && head.version == .http1_0), "\(head)")
                #expect(valid.host == hosts.first && valid.hasExpect == head.fields.contains(name: "expect"), "\(head)")
                #expect(!(head.fields.contains(name: "content-length") && head.fields.contains(name: "transfer-encoding")), "\(head)")
                var fields = head.fields
                valid.framing.apply(to: &fields, http1: true)
                #expect(fields.values(name: "content-length").count + fields.values(name: "transfer-encoding").count <= 1, "\(fields.headers)")
                _ = Self.router.route(RequestView(head))
            }
        }
        return heads
    }

    @Test("mutated heads never crash the decoder, validation or routing, and what passes is framed once")
    func fuzz() {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["SWITCHYARD_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5157_1743_0000_0001
        let iterations = environment["SWITCHYARD_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 20_000
        let budget = Date().addingTimeInterval(iterations > 20_000 ? .infinity : 30)
        var random = Xoshiro256(seed: seed)
        let corpus = Self.corpus.map { Array($0.utf8) }
        for seedInput in corpus { check(seedInput) }
        var done = 0
        var heads = 0
        while done < iterations, Date() < budget {
            var input = corpus[random.next(below: corpus.count)]
            for _ in 0...random.next(below: 4) { mutate(&input, &random, corpus: corpus) }
            heads += check(input)
            done += 1
        }
        #expect(done > 0)
        // Most mutations leave a head the decoder passes on: none would mean it checked nothing.
        #expect(heads > done / 10, "\(heads) heads from \(done) inputs")
    }

    private func mutate(_ input: inout [UInt8], _ random: inout Xoshiro256, corpus: [[UInt8]]) {
        guard !input.isEmpty else {
            input = corpus[0]
            return
        }
        let at = random.next(below: input.count)
        switch random.next(below: 6) {
        case 0: input[at] = Self.interesting[random.next(below: Self.interesting.count)]
        case 1: input.insert(Self.interesting[random.next(below: Self.interesting.count)], at: at)
        case 2: input.removeSubrange(at..<min(input.count, at + 1 + random.next(below: 8)))
        case 3:
            // Repeat a line (a second Host, Content-Length, ...).
            let lines = input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            guard lines.count > 2 else { return }
            let line = lines[1 + random.next(below: lines.count - 2)]
            input.insert(contentsOf: Array(line) + [UInt8(ascii: "\n")], at: at)
        case 4:
            // Splice another corpus entry in.
            let other = corpus[random.next(below: corpus.count)]
            input.insert(contentsOf: other[random.next(below: other.count)...], at: at)
        default: input[at] ^= UInt8(truncatingIfNeeded: 1 << random.next(below: 8))
        }
    }
}
