import SwitchyardCore
import Testing

@Suite("Authorities, durations, hashing, randomness, JSON")
struct SupportTests {
    @Test("authorities parse names, IPv4, bracketed IPv6, and default ports")
    func authorities() throws {
        #expect(try Authority(parsing: "web.prod.svc.cluster.local:80") == Authority(host: "web.prod.svc.cluster.local", port: 80))
        #expect(try Authority(parsing: "127.0.0.1:18081").port == 18081)
        #expect(try Authority(parsing: "[::1]:8080") == Authority(host: "::1", port: 8080))
        #expect(try Authority(parsing: "[::1]:8080").description == "[::1]:8080")
        #expect(try Authority(parsing: "web", defaultPort: 80).port == 80)
    }

    @Test("bad authorities say why", arguments: ["web", ":80", "web:0", "web:65536", "web:x", "::1:80", "[::1", "a b:80"])
    func badAuthorities(text: String) {
        #expect(throws: AuthorityError.self) { try Authority(parsing: text) }
    }

    @Test("IP literals with a port come out canonical; names and portless ones do not parse")
    func ipLiterals() {
        #expect(Authority(ipLiteral: "[FD00:0::1]:80") == Authority(ipLiteral: "[fd00::1]:80"))
        #expect(Authority(ipLiteral: "[FD00:0:0::0001]:80")?.description == "[fd00::1]:80")
        #expect(Authority(ipLiteral: "10.0.0.1:8080") == Authority(host: "10.0.0.1", port: 8080))
        for text in ["web.test:80", "10.0.0.1", "fd00::1:80", "10.0.0.256:80", "[fd00::1]", "10.0.0.1:0"] {
            #expect(Authority(ipLiteral: text) == nil, "\(text)")
        }
    }

    @Test("durations read the config's units")
    func durations() {
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.parse("3s") == .seconds(3))
        #expect(DurationText.parse("1m") == .seconds(60))
        #expect(DurationText.parse("1.5s") == .milliseconds(1500))
        #expect(DurationText.parse("100us") == .microseconds(100))
        #expect(DurationText.parse("2h") == .seconds(7200))
        for bad in ["", "ms", "3", "-1s", "1 s", "1sec", "1e3s"] {
            #expect(DurationText.parse(bad) == nil, "\(bad) should not parse")
        }
        #expect(DurationText.format(.milliseconds(30)) == "30ms")
        #expect(DurationText.format(.seconds(60)) == "1m")
        #expect(DurationText.format(.milliseconds(1500)) == "1500ms")
        #expect(Duration.seconds(3).nanoseconds == 3_000_000_000)
    }

    @Test("the stable hash is the same on every run and spreads bits")
    func stableHash() {
        // Pinned values: a change here would move every consistent-hash key.
        #expect(StableHash.hash("") == StableHash.mix(0xcbf2_9ce4_8422_2325))
        #expect(StableHash.hash("127.0.0.1:18081") == StableHash.hash("127.0.0.1:18081"))
        #expect(StableHash.hash("a") != StableHash.hash("b"))
        #expect(StableHash.hash("a", seed: 1) != StableHash.hash("a"))
        let highBits = Set((0..<64).map { StableHash.hash("key-\($0)") >> 60 })
        #expect(highBits.count > 10)
    }

    @Test("xoshiro is deterministic per seed and uniform enough for balancing")
    func xoshiro() {
        var a = Xoshiro256(seed: 42)
        var b = Xoshiro256(seed: 42)
        var c = Xoshiro256(seed: 43)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
        var counts = [Int](repeating: 0, count: 4)
        for _ in 0..<40_000 { counts[a.next(below: 4)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 }, "\(counts)")
    }

    @Test("JSON parses, keeps key order, refuses duplicates and garbage, and writes back")
    func json() throws {
        let value = try JSONValue(parsing: #" {"b": [1, 2.5, true, null], "a": {"s": "x\"\u00e9\n"}} "#)
        guard case .object(let members) = value else {
            Issue.record("not an object")
            return
        }
        #expect(members.map(\.key) == ["b", "a"])
        #expect(value.description == #"{"b":[1,2.5,true,null],"a":{"s":"x\"é\n"}}"#)
        #expect(try JSONValue(parsing: value.description) == value)
        for bad in ["", "{", #"{"a":1,"a":2}"#, "[1,]", "tru", #""\x""#, "1 2", "{\"a\" 1}"] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue(parsing: bad) }
        }
    }
}
