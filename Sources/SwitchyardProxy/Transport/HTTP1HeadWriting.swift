import NIOCore
import NIOHTTP1

/// A head the proxy will not write: one of its parts holds a byte HTTP/1.1 does not allow
/// there (a CR or LF would let it split the message, RFC 9112 §2.2).
struct UnsendableHead: Error, CustomStringConvertible {
    /// Which part: "header name", "header value", "method", "request target", "reason phrase".
    let part: String

    var description: String { "a \(part) holds a byte HTTP/1.1 does not allow there" }
}

/// HTTP/1.x heads written as bytes, each part checked as it is copied (a head's fields were
/// checked as they became ``FieldLines``; a chunked body's trailers are checked here): header
/// names and methods are tokens, values and reason phrases have no control character but tab,
/// a request target has only the bytes RFC 3986 lets it carry unencoded (what NIO's header
/// validators check, without a pass of their own or a pipeline hop).
extension ByteBuffer {
    /// `METHOD target HTTP/1.1`, the header lines and the blank line. The lines were checked
    /// as they were made (``FieldLines``): one copy writes them all.
    mutating func writeRequestHead(_ head: RequestHead) throws(UnsendableHead) {
        try writeChecked(head.method.rawValue, part: "method", HeaderText.isTokenByte)
        writeCopy(of: " ")
        try writeChecked(head.uri, part: "request target", HeaderText.isTargetByte)
        writeCopy(of: " HTTP/1.1\r\n")
        writeImmutableBuffer(head.fields.bytes)
        writeCopy(of: "\r\n")
    }

    /// `HTTP/1.x CODE reason`, the header lines and the blank line. The lines were checked as
    /// they were made (``FieldLines``): one copy writes them all.
    mutating func writeResponseHead(_ head: ResponseHead) throws(UnsendableHead) {
        switch (head.version.major, head.version.minor) {
        case (1, 1): writeCopy(of: "HTTP/1.1 ")
        case (1, 0): writeCopy(of: "HTTP/1.0 ")
        case (let major, let minor): writeString("HTTP/\(major).\(minor) ")
        }
        if head.status == .ok {
            writeCopy(of: "200 OK\r\n")
        } else {
            // A status is three digits (RFC 9110 §15); NIO's type holds any UInt.
            guard (100...999).contains(head.status.code) else { throw UnsendableHead(part: "status code") }
            let code = Int(head.status.code)
            writeByte(UInt8(ascii: "0") + UInt8(code / 100))
            writeByte(UInt8(ascii: "0") + UInt8(code / 10 % 10))
            writeByte(UInt8(ascii: "0") + UInt8(code % 10))
            writeCopy(of: " ")
            try writeChecked(head.status.reasonPhrase, part: "reason phrase", allowEmpty: true, HeaderText.isValueByte)
            writeCopy(of: "\r\n")
        }
        writeImmutableBuffer(head.fields.bytes)
        writeCopy(of: "\r\n")
    }

    /// Each field as `name: value`, then the blank line: a chunked body's trailers.
    mutating func writeHeaderFields(_ headers: HTTPHeaders) throws(UnsendableHead) {
        for (name, value) in headers { try writeCheckedField(name: name, value: value) }
        writeCopy(of: "\r\n")
    }

    /// `name: value\r\n` once both are checked; throws, writing nothing, when the name is not a
    /// token or the value holds a control character other than tab. `consuming`: reading a
    /// String's bytes needs it mutable, and copying a borrowed one into a `var` costs retains.
    @inline(__always)
    mutating func writeCheckedField(name: consuming String, value: consuming String) throws(UnsendableHead) {
        let refused: String? = name.withUTF8 { name in
            value.withUTF8 { value in
                let name = UnsafeRawBufferPointer(name)
                let value = UnsafeRawBufferPointer(value)
                guard HeaderText.isToken(name) else { return "header name" }
                guard HeaderText.isValue(value) else { return "header value" }
                writeFieldLine(name: name, value: value)
                return nil
            }
        }
        if let refused { throw UnsendableHead(part: refused) }
    }

    /// `name: value\r\n` in one copy, unchecked: the caller checked both.
    @inline(__always)
    mutating func writeFieldLine(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let size = name.count + value.count + 4
        writeInPlace(minimumWritableBytes: size) { target in
            guard let base = target.baseAddress else { return 0 }
            if let source = name.baseAddress { base.copyMemory(from: source, byteCount: name.count) }
            base.storeBytes(of: UInt8(ascii: ":"), toByteOffset: name.count, as: UInt8.self)
            base.storeBytes(of: UInt8(ascii: " "), toByteOffset: name.count + 1, as: UInt8.self)
            if let source = value.baseAddress { (base + name.count + 2).copyMemory(from: source, byteCount: value.count) }
            base.storeBytes(of: UInt8(ascii: "\r"), toByteOffset: size - 2, as: UInt8.self)
            base.storeBytes(of: UInt8(ascii: "\n"), toByteOffset: size - 1, as: UInt8.self)
            return size
        }
    }

    /// Appends `text` when every byte is `allowed` (and it is not empty, unless
    /// `allowEmpty`). On a refusal the buffer holds part of a head: the caller drops it.
    @inline(__always)
    private mutating func writeChecked(
        _ text: String, part: String, allowEmpty: Bool = false, _ allowed: (UInt8) -> Bool
    ) throws(UnsendableHead) {
        var text = text
        let written = text.withUTF8 { bytes in
            guard allowEmpty || !bytes.isEmpty, bytes.allSatisfy(allowed) else { return false }
            writeCopy(of: UnsafeRawBufferPointer(bytes))
            return true
        }
        guard written else { throw UnsendableHead(part: part) }
    }
}
