import NIOCore
import NIOHTTP1
import Testing

@testable import SwitchyardProxy

/// A response head's fields as checked lines: what goes in is checked, lookups ignore case,
/// removals keep the order of the rest, and the lines are the bytes a head writer copies.
@Suite("Field lines")
struct FieldLinesTests {
    static func fields(_ pairs: [(String, String)]) throws -> FieldLines {
        var fields = FieldLines()
        for (name, value) in pairs { try fields.append(name: name, value: value) }
        return fields
    }

    static func text(_ fields: FieldLines) -> String {
        String(buffer: fields.bytes)
    }

    @Test("lines are `name: value` and CRLF, names in the case they came; lookups ignore case and read every field")
    func linesAndLookups() throws {
        let fields = try Self.fields([("Content-Type", "text/plain"), ("X-Multi", "a"), ("empty", ""), ("x-multi", "b, c"), ("Set-Cookie", "k=v; Path=/")])
        #expect(Self.text(fields) == "Content-Type: text/plain\r\nX-Multi: a\r\nempty: \r\nx-multi: b, c\r\nSet-Cookie: k=v; Path=/\r\n")
        #expect(fields.contains(name: "content-type") && fields.contains(name: "empty") && !fields.contains(name: "content"))
        #expect(fields.values(name: "x-multi") == ["a", "b, c"] && fields.values(name: "empty") == [""] && fields.values(name: "set") == [])
        #expect(fields.headers.map { "\($0.name)=\($0.value)" } == ["Content-Type=text/plain", "X-Multi=a", "empty=", "x-multi=b, c", "Set-Cookie=k=v; Path=/"])
        var seen: [String] = []
        fields.forEach { name, value in seen.append(String(decoding: name, as: UTF8.self) + "|" + String(decoding: value, as: UTF8.self)) }
        #expect(seen == ["Content-Type|text/plain", "X-Multi|a", "empty|", "x-multi|b, c", "Set-Cookie|k=v; Path=/"])
    }

    @Test("a field that would split the message is refused and adds nothing; NIO's headers become lines only when all of theirs pass")
    func refusals() throws {
        for (name, value) in [("x-a", "1\r\nx-injected: 1"), ("x-a", "1\nx"), ("x-a", "cr\r"), ("x a", "1"), ("", "1"), ("x:a", "1"), ("x-a", "nul\u{0}"), ("x-a", "del\u{7F}")] {
            var fields = try Self.fields([("kept", "1")])
            #expect(throws: UnsendableHead.self, "\(name): \(value)") { try fields.append(name: name, value: value) }
            #expect(Self.text(fields) == "kept: 1\r\n")
            #expect(throws: UnsendableHead.self, "\(name): \(value)") { try FieldLines(HTTPHeaders([("kept", "1"), (name, value)])) }
        }
        #expect(Self.text(try FieldLines(["tab": "a\tb", "utf8": "ü"])) == "tab: a\tb\r\nutf8: ü\r\n")
    }

    @Test("removals take every field of a name, first, middle or last, and keep the rest in order; nothing removed keeps the same bytes")
    func removals() throws {
        let all = try Self.fields([("a", "1"), ("B", "2"), ("a", "3"), ("c", "4"), ("A", "5")])
        var fields = all
        fields.remove(name: "a")
        #expect(Self.text(fields) == "B: 2\r\nc: 4\r\n")
        fields = all
        fields.remove(name: "c")
        #expect(Self.text(fields) == "a: 1\r\nB: 2\r\na: 3\r\nA: 5\r\n")
        fields = all
        fields.remove(name: "absent")
        #expect(fields == all)
        fields.removeAll { HeaderText.equalsIgnoringCase($0, "a") || HeaderText.equalsIgnoringCase($0, "b") || HeaderText.equalsIgnoringCase($0, "c") }
        #expect(fields.isEmpty && fields.bytes.readableBytes == 0)
        fields = all
        fields.replaceOrAdd(name: "b", value: "chunked")
        #expect(Self.text(fields) == "a: 1\r\na: 3\r\nc: 4\r\nA: 5\r\nb: chunked\r\n")
        // The copy a removal makes is the fields' own: the original keeps its lines.
        #expect(Self.text(all) == "a: 1\r\nB: 2\r\na: 3\r\nc: 4\r\nA: 5\r\n")
    }

    @Test("an upstream's head becomes lines as its parser reads it: spaces around values dropped, one space after each colon, hop-by-hop and listed fields left out")
    func fromTheParser() throws {
        var parser = UpstreamResponseParser()
        parser.requestSent(.GET)
        parser.feed(ByteBuffer(string: "HTTP/1.1 200 OK\r\nA:1\r\nB: \t 2 \t\r\nConnection: x-gone, keep-alive\r\nX-Gone: 9\r\nKeep-Alive: timeout=5\r\nC:\r\nContent-Length: 0\r\n\r\n"))
        guard case .head(let head)? = try parser.next() else {
            Issue.record("no head")
            return
        }
        #expect(Self.text(head.fields) == "A: 1\r\nB: 2\r\nC: \r\nContent-Length: 0\r\n")
    }
}
