import NIOHTTP2
import Testing

@testable import SwitchyardProxy

/// A connection's streams by ID: listed while few, hashed once more are open, the same answers
/// either way.
@Suite("HTTP/2 streams by ID")
struct HTTP2StreamsByIDTests {
    final class Stream: HTTP2TableStream {
        let id: Int
        var isTouched = false
        init(_ id: Int) { self.id = id }
        func readCompleted() {}
        func connectionWritabilityChanged(_ writable: Bool) {}
    }

    private static func id(_ number: Int) -> HTTP2StreamID { HTTP2StreamID(2 * number + 1) }

    @Test(
        "lookups, replacements and removals agree with a dictionary below, at and past the listed limit, and back to none",
        arguments: [1, HTTP2StreamsByID<Stream>.listedLimit, HTTP2StreamsByID<Stream>.listedLimit + 1, 40])
    func agreesWithADictionary(open: Int) {
        var streams = HTTP2StreamsByID<Stream>()
        var expected: [HTTP2StreamID: Stream] = [:]
        func check() {
            #expect(streams.count == expected.count)
            for number in 0..<open + 2 { #expect(streams[Self.id(number)] === expected[Self.id(number)]) }
            var seen: [Int] = []
            streams.forEach { seen.append($0.id) }
            #expect(seen.sorted() == expected.values.map(\.id).sorted())
        }
        for number in 0..<open {
            let stream = Stream(number)
            streams[Self.id(number)] = stream
            expected[Self.id(number)] = stream
            check()
        }
        let replacement = Stream(100)
        streams[Self.id(0)] = replacement
        expected[Self.id(0)] = replacement
        check()
        #expect(streams.remove(Self.id(open + 1)) == nil)
        // Every other one by `remove(where:)`, then the rest one at a time, a removal by setting nil among them.
        let odd = streams.remove(where: { id, _ in (Int(id) / 2) % 2 == 1 })
        #expect(odd.count == open / 2)
        for stream in odd { expected[Self.id(stream.id)] = nil }
        check()
        for number in stride(from: 0, to: open, by: 2) {
            if number % 4 == 0 {
                streams[Self.id(number)] = nil
            } else {
                #expect(streams.remove(Self.id(number)) === expected[Self.id(number)])
            }
            expected[Self.id(number)] = nil
            check()
        }
        #expect(streams.count == 0)
        // Empty again, it lists anew.
        let again = Stream(7)
        streams[Self.id(7)] = again
        #expect(streams[Self.id(7)] === again)
        #expect(streams.removeAll().map(\.id) == [7])
        #expect(streams.count == 0)
    }

    @Test("removeAll takes out every stream, listed or hashed")
    func removeAll() {
        var streams = HTTP2StreamsByID<Stream>()
        for number in 0..<20 { streams[Self.id(number)] = Stream(number) }
        #expect(streams.removeAll().map(\.id).sorted() == Array(0..<20))
        #expect(streams.count == 0)
        #expect(streams[Self.id(3)] == nil)
    }

    @Test(
        "a walk of the table visits the streams open when it began, once each, while its body closes and opens others",
        arguments: [3, HTTP2StreamsByID<Stream>.listedLimit + 4])
    func walkOverACopy(open: Int) {
        let table = HTTP2StreamTable<Stream>()
        for number in 0..<open { table[Self.id(number)] = Stream(number) }
        var visited: [Int] = []
        table.forEach { stream in
            visited.append(stream.id)
            // Closes a stream not visited yet (or one visited) and opens a new one, as a
            // stream's callback may through its connection.
            _ = table.remove(Self.id((stream.id + 1) % open))
            table[Self.id(100 + stream.id)] = Stream(100 + stream.id)
        }
        #expect(visited.sorted() == Array(0..<open))
        #expect(table.count == open)  // each step closed one of the first and opened one
    }
}
