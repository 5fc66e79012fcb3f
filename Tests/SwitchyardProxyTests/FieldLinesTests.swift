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

    @Test("a filter's set takes every earlier field of its name, in any case, and comes last; a name or value that is refused changes nothing")
    func filterSet() throws {
        let all = try Self.fields([("a", "1"), ("B", "2"), ("A", "3"), ("c", "4")])
        var fields = all
        try fields.replaceOrAdd(named: "A", value: "x")
        #expect(Self.text(fields) == "B: 2\r\nc: 4\r\nA: x\r\n")
        fields = all
        try fields.replaceOrAdd(named: "d", value: "y")
        #expect(Self.text(fields) == "a: 1\r\nB: 2\r\nA: 3\r\nc: 4\r\nd: y\r\n")
        for (name, value) in [("a", "1\r\nx-injected: 1"), ("a b", "1"), ("", "1")] {
            fields = all
            #expect(throws: UnsendableHead.self, "\(name): \(value)") { try fields.replaceOrAdd(named: name, value: value) }
            #expect(fields == all)
        }
        fields = all
        fields.remove(named: "A")
        #expect(Self.text(fields) == "B: 2\r\nc: 4\r\n" && fields.first(named: "b") == "2" && all.first(named: "A") == "1")
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

    /// What an upstream's head `text` becomes through the parser, and whether its lines are
    /// still in the bytes it read (a slice, not a copy).
    static func parsed(_ text: String) throws -> (lines: String, inPlace: Bool) {
        var parser = UpstreamResponseParser()
        parser.requestSent(.GET)
        let read = ByteBuffer(string: text)
        parser.feed(read)
        guard case .head(let head)? = try parser.next() else { throw MalformedHTTP1.statusLine }
        let readBytes = read.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress)..<UInt(bitPattern: $0.baseAddress) + UInt($0.count) }
        let inPlace = head.fields.bytes.withUnsafeReadableBytes { readBytes.contains(UInt(bitPattern: $0.baseAddress)) }
        return (String(buffer: head.fields.bytes), inPlace)
    }

    @Test("fields already in form (one space after each colon, none at the end) stay where they were read, hop-by-hop ones before or after them left out; any other line makes a copy, and every case comes out the same lines")
    func inPlace() throws {
        let status = "HTTP/1.1 200 OK\r\n"
        let end = "Content-Length: 0\r\n\r\n"
        // nginx's form: kept in place, with the Connection field after them (or before) left out.
        var parsed = try Self.parsed(status + "Server: nginx\r\nDate: Fri, 27 Nov 2026 10:00:00 GMT\r\n" + end.dropLast() + "Connection: keep-alive\r\n\r\n")
        #expect(parsed.lines == "Server: nginx\r\nDate: Fri, 27 Nov 2026 10:00:00 GMT\r\nContent-Length: 0\r\n")
        #expect(parsed.inPlace)
        parsed = try Self.parsed(status + "Connection: keep-alive\r\nEmpty: \r\n" + end)
        #expect(parsed.lines == "Empty: \r\nContent-Length: 0\r\n")
        #expect(parsed.inPlace)
        // Lines in another form, or kept lines that a left-out one separates: copied, in form.
        let copied: [(String, String)] = [
            ("A:1\r\n", "A: 1\r\n"),
            ("A:  1\r\n", "A: 1\r\n"),
            ("A:\t1\r\n", "A: 1\r\n"),
            ("A: 1 \r\n", "A: 1\r\n"),
            ("A: 1\t\r\n", "A: 1\r\n"),
            ("A:\r\n", "A: \r\n"),
            ("A: 1\r\nKeep-Alive: timeout=5\r\nB: 2\r\n", "A: 1\r\nB: 2\r\n"),
            ("A: 1\r\nB:2\r\nC: 3\r\n", "A: 1\r\nB: 2\r\nC: 3\r\n"),
        ]
        for (fields, lines) in copied {
            parsed = try Self.parsed(status + fields + end)
            #expect(parsed.lines == lines + "Content-Length: 0\r\n", "\(fields.debugDescription)")
            #expect(!parsed.inPlace, "\(fields.debugDescription)")
        }
        // A name Connection lists is left out after the head is read: the rest stays in order.
        parsed = try Self.parsed(status + "Connection: x-gone\r\nA: 1\r\nX-Gone: 2\r\nB: 3\r\n" + end)
        #expect(parsed.lines == "A: 1\r\nB: 3\r\nContent-Length: 0\r\n")
        // No field kept at all.
        parsed = try Self.parsed(status + "Connection: close\r\n\r\n")
        #expect(parsed.lines == "")
    }
}
