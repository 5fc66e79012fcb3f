import NIOHTTP1
import Testing

@testable import SwitchyardProxy

/// How a client's request body is framed upstream (``RequestBodyFraming``).
@Suite("RequestBodyFraming")
struct RequestBodyFramingTests {
    static func lengths(_ values: String...) throws -> RequestBodyFraming.LengthFields {
        RequestBodyFraming.contentLength(of: try FieldLines(HTTPHeaders(values.map { ("Content-Length", $0) } + [("x-other", "1, 2")])))
    }

    @Test("content-length: one decimal number, or a list of it repeated (RFC 9110 §8.6); anything else is malformed")
    func contentLength() throws {
        #expect(try Self.lengths() == .absent)
        #expect(try Self.lengths("0") == .length(0))
        #expect(try Self.lengths(" 42\t") == .length(42))
        #expect(try Self.lengths("42, 42", "42") == .length(42))
        #expect(try Self.lengths("999999999999999999") == .length(999_999_999_999_999_999))
        for malformed in [[""], ["4 2"], ["42,"], [",42"], ["42, 43"], ["42", "43"], ["-1"], ["+1"], ["0x10"], ["1234567890123456789"], ["42;"]] {
            #expect(RequestBodyFraming.contentLength(of: try FieldLines(HTTPHeaders(malformed.map { ("content-length", $0) }))) == .malformed, "\(malformed)")
        }
    }

    @Test("the head sent upstream carries the proxy's framing: a client's plain length stays, anything else is rewritten")
    func apply() throws {
        func applied(_ framing: RequestBodyFraming, _ fields: [(String, String)], http1: Bool = true) throws -> [String] {
            var lines = try FieldLines(HTTPHeaders(fields))
            framing.apply(to: &lines, http1: http1)
            return lines.headers.map { "\($0.name): \($0.value)" }
        }
        #expect(try applied(.length(3), [("Content-Length", "3"), ("x-a", "1")]) == ["Content-Length: 3", "x-a: 1"])
        #expect(try applied(.length(3), [("content-length", "003")]) == ["content-length: 3"])
        #expect(try applied(.length(3), [("content-length", "3, 3")]) == ["content-length: 3"])
        #expect(try applied(.length(3), [("content-length", "3"), ("content-length", "3")]) == ["content-length: 3"])
        #expect(try applied(.stream, [("transfer-encoding", "chunked"), ("x-a", "1")]) == ["x-a: 1", "transfer-encoding: chunked"])
        #expect(try applied(.stream, [("content-length", "3")], http1: false) == [])
        #expect(try applied(.none, [("content-length", "0")]) == [])
    }
}
