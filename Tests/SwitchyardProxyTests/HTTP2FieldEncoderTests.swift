import NIOCore
import NIOHPACK
import NIOHTTP1
import Testing

@testable import SwitchyardProxy

/// ``HTTP2FieldEncoder``: what it writes reads back through NIO's HPACK decoder (a peer's),
/// names from the static table go as indices, and every field is a literal that no table keeps.
@Suite("HTTP/2 field encoder")
struct HTTP2FieldEncoderTests {
    /// `bytes` decoded as one block by `decoder`, as "name: value" lines.
    static func decoded(_ bytes: ByteBuffer, _ decoder: inout HPACKDecoder) throws -> [String] {
        var bytes = bytes
        return try decoder.decodeHeaders(from: &bytes).map { "\($0.name): \($0.value)" }
    }

    static func decoded(_ bytes: ByteBuffer) throws -> [String] {
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator(), maxDynamicTableSize: HPACKDecoder.maxDynamicTableSize, maxHeaderListSize: 1 << 20)
        return try decoded(bytes, &decoder)
    }

    @Test("every name of the static table, sent in upper case, goes as its index (one byte, or two past 14) and reads back in lower case")
    func staticNames() throws {
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        for (offset, name) in HPACKStaticTable.names.enumerated() where !name.description.hasPrefix(":") {
            var bytes = ByteBuffer()
            HTTP2FieldEncoder.append(name: name.description.uppercased(), value: "v", to: &bytes)
            #expect(bytes.readableBytes == (offset + 1 < 15 ? 1 : 2) + 2, "\(name)")
            let sensitive = ["authorization", "cookie", "proxy-authorization", "set-cookie"].contains(name.description)
            #expect(
                bytes.getInteger(at: 0, as: UInt8.self).map { $0 & 0xF0 } == (sensitive ? 0x10 : 0),
                "a literal never indexed (RFC 7541 §6.2.3) for credentials and cookies, else without indexing (§6.2.2)")
            #expect(try Self.decoded(bytes, &decoder) == ["\(name): v"])
        }
    }

    @Test("the static table's names each have a slot of their own, and a name only like one of them (its length, first and last bytes) is not found")
    func staticSlots() {
        var slots: [Int: String] = [:]
        for (offset, name) in HPACKStaticTable.names.enumerated() where slots.values.contains(name.description) == false {
            let bytes = name.bytes
            let slot = HPACKStaticTable.slot(length: bytes.count, first: bytes[0], last: bytes[bytes.count - 1])
            #expect(slots[slot] == nil, "\(name) and \(slots[slot] ?? "")")
            slots[slot] = name.description
            #expect(name.description.utf8.withContiguousStorageIfAvailable { HPACKStaticTable.index(ofName: UnsafeRawBufferPointer($0)) } == offset + 1)
        }
        for other in ["content-lenxth", "dote", "", "x", ":statuses", "set-cookie2"] {
            #expect(other.utf8.withContiguousStorageIfAvailable { HPACKStaticTable.index(ofName: UnsafeRawBufferPointer($0)) } == .some(nil), "\(other)")
        }
    }

    @Test("a name outside the table goes as a literal in lower case; a value of any length keeps its bytes (lengths past 127 and 16,383 take more bytes)")
    func literals() throws {
        for length in [0, 1, 126, 127, 128, 16_383, 16_384, 70_000] {
            var bytes = ByteBuffer()
            let value = String(repeating: "x", count: length)
            HTTP2FieldEncoder.append(name: "X-Trace-ID", value: value, to: &bytes)
            #expect(try Self.decoded(bytes) == ["x-trace-id: \(value)"], "\(length)")
        }
        var bytes = ByteBuffer()
        HTTP2FieldEncoder.append(name: "X-Kept", value: "1", to: &bytes)
        HTTP2FieldEncoder.append(name: "Content-TYPE", value: "a", to: &bytes)
        #expect(bytes.readableBytes == 1 + 1 + 6 + 2 + 2 + 2, "a static name is an index however it is written")
        #expect(try Self.decoded(bytes) == ["x-kept: 1", "content-type: a"])
    }

    @Test("statuses the static table holds whole take one byte; any other code is a literal")
    func statuses() throws {
        for code in [200, 204, 206, 304, 400, 404, 500, 100, 201, 299, 503, 999] {
            var bytes = ByteBuffer()
            HTTP2FieldEncoder.appendStatus(code, to: &bytes)
            #expect(bytes.readableBytes == ([200, 204, 206, 304, 400, 404, 500].contains(code) ? 1 : 5))
            #expect(try Self.decoded(bytes) == [":status: \(code)"])
        }
    }

    @Test("a request's pseudo-fields: GET, POST and the path / whole, the rest as literals, :scheme http")
    func requestLine() throws {
        for (method, path) in [("GET", "/"), ("POST", "/a.Svc/Call"), ("PATCH", "/x?y=1")] {
            var bytes = ByteBuffer()
            HTTP2FieldEncoder.appendRequestLine(method: method, authority: "a.test:80", path: path, to: &bytes)
            #expect(try Self.decoded(bytes) == [":method: \(method)", ":scheme: http", ":authority: a.test:80", ":path: \(path)"])
        }
    }

    @Test("after the peer's SETTINGS_HEADER_TABLE_SIZE, the next block (only) starts with a size update to 0, which a decoder whose table shrank requires")
    func sizeUpdate() throws {
        var encoder = HTTP2FieldEncoder()
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        encoder.peerSetTableSize()
        for expected: UInt8 in [0x20, 0x88] {
            var frame = ByteBuffer()
            frame.writeHTTP2Headers(.response(ResponseHead(version: .http1_1, status: .ok)), endStream: true, stream: 1, encoder: &encoder, maxFrameBytes: 16_384)
            let block = frame.getSlice(at: 9, length: frame.readableBytes - 9) ?? ByteBuffer()
            #expect(block.getInteger(at: 0, as: UInt8.self) == expected)
            #expect(try Self.decoded(block, &decoder) == [":status: 200"])
        }
    }
}
