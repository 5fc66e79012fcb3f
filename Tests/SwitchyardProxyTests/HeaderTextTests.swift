import SwitchyardCore
import Testing

@testable import SwitchyardProxy

/// The buffer checks the HTTP/1.x parser and writer use agree byte for byte with the per-byte
/// rules, wherever the byte falls in the eight-byte words ``HeaderText/isValue(_:)`` reads.
@Suite("Header text")
struct HeaderTextTests {
    @Test("isValue: every byte value at every position of buffers 1 to 24 bytes long, among value bytes")
    func valueAgreesWithTheByteRule() {
        for length in 1...24 {
            for position in 0..<length {
                for byte in UInt8.min...UInt8.max {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = byte
                    let checked = bytes.withUnsafeBytes { HeaderText.isValue($0) }
                    #expect(checked == HeaderText.isValueByte(byte), "byte \(byte) at \(position) of \(length)")
                }
            }
        }
    }

    @Test("isValue: neighbours that borrow (0x00, 0x20, 0x7F, 0x80, 0xFF next to each other) never hide a bad byte (20000 seeded buffers)")
    func valueAcrossNeighbours() {
        let edges: [UInt8] = [0x00, 0x08, 0x09, 0x0A, 0x1F, 0x20, 0x21, 0x7E, 0x7F, 0x80, 0x81, 0xFE, 0xFF]
        var generator = Xoshiro256(seed: 20_261_128)
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...33, using: &generator)).map { _ in edges.randomElement(using: &generator) ?? 0 }
            let checked = bytes.withUnsafeBytes { HeaderText.isValue($0) }
            #expect(checked == bytes.allSatisfy(HeaderText.isValueByte), "\(bytes)")
        }
    }

    @Test("isToken: every byte value, alone and after a token; empty is no token")
    func tokenAgreesWithTheByteRule() {
        #expect(![UInt8]().withUnsafeBytes { HeaderText.isToken($0) })
        for byte in UInt8.min...UInt8.max {
            #expect([byte].withUnsafeBytes { HeaderText.isToken($0) } == HeaderText.isTokenByte(byte), "byte \(byte)")
            #expect(Array("x-a".utf8 + [byte]).withUnsafeBytes { HeaderText.isToken($0) } == HeaderText.isTokenByte(byte), "byte \(byte)")
        }
    }

    @Test("equalsIgnoringCase: every byte against every lower-case target byte matches only itself and its upper-case letter")
    func caseInsensitiveEquality() {
        for target in UInt8(0)...UInt8(0x7F) where !(UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(target) {
            [target].withUnsafeBufferPointer { expected in
                for byte in UInt8.min...UInt8.max {
                    let wanted = byte == target || ((UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) && byte + 32 == target)
                    #expect(HeaderText.equalsIgnoringCase([byte], expected) == wanted, "byte \(byte), target \(target)")
                }
            }
        }
        #expect(HeaderText.equalsIgnoringCase(Array("Content-LENGTH".utf8), "content-length"))
        #expect(!HeaderText.equalsIgnoringCase(Array("content-lengths".utf8), "content-length"))
        #expect(!HeaderText.equalsIgnoringCase(Array("content\rlength".utf8), "content-length"))
    }
}
