@testable import SwitchyardPluginKit
import Testing

@Suite("PluginConfig")
struct PluginConfigTests {
    @Test("typed accessors read values and defaults")
    func accessors() throws {
        let config = try PluginConfig(json: #"{"rtt": "250ms", "n": 3, "bias": 0.5, "mode": "b", "on": true, "rttMs": 40}"#)
        #expect(try config.duration("rtt", default: .seconds(1)) == .milliseconds(250))
        #expect(try config.duration("rttMs", default: .seconds(1)) == .milliseconds(40))
        #expect(try config.duration("absent", default: .seconds(1)) == .seconds(1))
        #expect(try config.int("n", default: 2, range: 2...10) == 3)
        #expect(try config.double("bias", default: 1, range: 0...10) == 0.5)
        #expect(try config.string("mode", default: "a", allowed: ["a", "b"]) == "b")
        #expect(try config.bool("on", default: false))
        try config.rejectUnknownKeys()
    }

    @Test("an empty block, whitespace or null mean no settings")
    func empty() throws {
        for text in ["", "  ", "{}", "null"] {
            try PluginConfig(json: text).rejectUnknownKeys()
        }
    }

    @Test("bad values name the key and say what was expected")
    func badValues() throws {
        let config = try PluginConfig(json: #"{"rtt": "fast", "n": 1, "m": 2.5, "s": 3, "mode": "c"}"#)
        #expect(throws: PluginConfigError(key: "rtt", message: #"expected a duration such as 250ms, 3s or 1m, got "fast""#)) {
            try config.duration("rtt", default: .seconds(1))
        }
        #expect(throws: PluginConfigError(key: "n", message: "must be ≥ 2, got 1")) {
            try config.int("n", default: 2, range: 2...Int.max)
        }
        #expect(throws: PluginConfigError(key: "m", message: "expected an integer, got 2.5")) {
            try config.int("m", default: 2, range: 0...10)
        }
        #expect(throws: PluginConfigError(key: "s", message: "expected a string, got 3")) {
            try config.string("s", default: "")
        }
        #expect(throws: PluginConfigError(key: "mode", message: #"must be one of a, b, got "c""#)) {
            try config.string("mode", default: "a", allowed: ["a", "b"])
        }
    }

    @Test("keys no accessor read are refused, listing the known ones")
    func unknownKeys() throws {
        let config = try PluginConfig(json: #"{"decay": "5s", "decai": "5s"}"#)
        _ = try config.duration("decay", default: .seconds(10))
        #expect(throws: PluginConfigError(key: "decai", message: "unknown key (known: decay)")) { try config.rejectUnknownKeys() }
    }

    @Test("the block must be a JSON object")
    func notAnObject() {
        #expect(throws: PluginConfigError(key: nil, message: "config must be an object, not an array")) { try PluginConfig(json: "[1]") }
        #expect(throws: PluginConfigError.self) { try PluginConfig(json: "{oops}") }
    }
}

@Suite("PickRequest")
struct PickRequestTests {
    @Test("reads loads laid out as the host lays them out, and finds ready ordinals")
    func view() {
        let loads = [
            EndpointLoad(ready: false, weight: 1, inFlight: 0, cost: 1),
            EndpointLoad(ready: true, weight: 2, inFlight: 3, cost: 4),
            EndpointLoad(ready: true, weight: 5, inFlight: 6, cost: 7),
        ]
        PickRequest.with(loads, hash: 9) { request in
            #expect(request.count == 3)
            #expect(request.readyCount == 2)
            #expect(!request.allReady)
            #expect(request.hash == 9)
            #expect(request[1] == loads[1])
            #expect(request.weight(2) == 5 && request.inFlight(2) == 6 && request.cost(2) == 7)
            #expect(request.readyIndex(0) == 1)
            #expect(request.readyIndex(1) == 2)
        }
        PickRequest.with([EndpointLoad()]) { request in
            #expect(request.hash == nil)
            #expect(request.allReady)
        }
    }
}
