import NIOCore
import NIOHTTP1
import Testing

@testable import SwitchyardProxy

/// What an exchange keeps of a request to send it again.
@Suite("Request replay")
struct RequestReplayTests {
    static func bytes(_ count: Int) -> ByteBuffer { ByteBuffer(repeating: UInt8(ascii: "x"), count: count) }

    /// The body bytes and trailers of `parts`, in order.
    static func contents(_ parts: CircularBuffer<RequestPart>) -> (body: [Int], trailers: HTTPHeaders??) {
        var body: [Int] = []
        var trailers: HTTPHeaders??
        for part in parts {
            switch part {
            case .head: Issue.record("a head is never replayed")
            case .body(let bytes): body.append(bytes.readableBytes)
            case .end(let fields): trailers = .some(fields)
            }
        }
        return (body, trailers)
    }

    @Test("the body's parts come back as one, with the end's trailers")
    func keepsBodyAndTrailers() throws {
        var replay = RequestReplay(keepsBody: true)
        replay.record(.body(ByteBuffer(string: "abc")))
        replay.record(.body(Self.bytes(0)))
        replay.record(.body(ByteBuffer(string: "defg")))
        replay.record(.end(["x-sum": "1"]))
        #expect(replay.isWhole)
        let kept = Self.contents(replay.parts)
        #expect(kept.body == [7])
        #expect(kept.trailers == .some(["x-sum": "1"]))
        let first = try #require(replay.parts.first)
        guard case .body(let body) = first else {
            Issue.record("the body comes first: \(first)")
            return
        }
        #expect(String(buffer: body) == "abcdefg")
    }

    @Test("a request without body bytes is whole even when no body is kept; one with body bytes is not")
    func bodilessAlwaysWhole() {
        var bodiless = RequestReplay(keepsBody: false)
        bodiless.record(.end(nil))
        #expect(bodiless.isWhole)
        #expect(Self.contents(bodiless.parts).body.isEmpty)
        var withBody = RequestReplay(keepsBody: false)
        withBody.record(.body(Self.bytes(1)))
        #expect(!withBody.isWhole)
    }

    @Test("a body past the bound is let go; so is everything once the response begins")
    func bounds() {
        var replay = RequestReplay(keepsBody: true)
        replay.record(.body(Self.bytes(BuiltInLimits.replayedBodyBytes)))
        #expect(replay.isWhole)
        replay.record(.body(Self.bytes(1)))
        #expect(!replay.isWhole)
        var answered = RequestReplay(keepsBody: true)
        answered.record(.end(nil))
        answered.discard()
        #expect(!answered.isWhole)
    }
}
