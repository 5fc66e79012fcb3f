/// HPACK's Huffman code (RFC 7541 §5.2, Appendix B), for decoding string literals a peer
/// sends Huffman-coded. The proxy never encodes with it (``HTTP2FieldEncoder``).
///
/// The code is canonical: ordered by length, then by symbol, each code is the one before plus
/// one, shifted left by the lengths' difference. So the lengths alone define it, and a code
/// is found by comparing the next bits with the first code past each length, shortest first
/// (21 lengths, 5 to 30 bits; the common characters' are the short ones).
enum HPACKHuffman {
    /// The decoding error RFC 7541 §5.2 names: the end of string symbol (EOS) in the data,
    /// padding longer than 7 bits, or padding that is not EOS's first bits (all ones).
    struct InvalidCode: Error, CustomStringConvertible {
        var description: String { "a Huffman-coded string that does not decode" }
    }

    /// Each symbol's code length in bits, symbol 0 first; symbol 256 is EOS (Appendix B).
    private static let lengths: [UInt8] = [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
        30,
    ]

    /// The codes of one length: past what (left-aligned in 32 bits) the next bits are longer,
    /// where in ``Code/symbols`` the first of them is, and its code.
    private struct Length {
        let bits: UInt32
        let limit: UInt64
        let firstCode: UInt32
        let firstSymbol: Int
    }

    /// The canonical code, derived from ``lengths`` once.
    private struct Code {
        /// One entry per length in use, shortest first.
        let lengths: [Length]
        /// The symbols in code order.
        let symbols: [UInt16]
    }

    private static let code: Code = {
        let symbols = (0..<lengths.count).sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        var byLength: [Length] = []
        var next: UInt32 = 0
        var bits = UInt32(lengths[symbols[0]])
        var first = 0
        for (position, symbol) in symbols.enumerated() {
            let length = UInt32(lengths[symbol])
            if length != bits {
                // Past the codes of `bits`: their limit, then the next length's first code.
                byLength.append(Length(bits: bits, limit: UInt64(next) << (32 - bits), firstCode: next - UInt32(position - first), firstSymbol: first))
                next <<= length - bits
                bits = length
                first = position
            }
            next += 1
        }
        byLength.append(Length(bits: bits, limit: UInt64(next) << (32 - bits), firstCode: next - UInt32(symbols.count - first), firstSymbol: first))
        return Code(lengths: byLength, symbols: symbols.map { UInt16($0) })
    }()

    /// The most bytes `count` Huffman-coded bytes decode to: every code is at least 5 bits.
    static func maxDecodedBytes(_ count: Int) -> Int {
        count * 8 / 5
    }

    /// Decodes `bytes` (the whole coded string) into `output`, which has room for
    /// ``maxDecodedBytes(_:)``; returns the number of bytes written.
    static func decode(_ bytes: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(InvalidCode) -> Int {
        let code = Self.code
        var written = 0
        // Bits not yet decoded, the next one the highest of the `available` low bits.
        var pending: UInt64 = 0
        var available: UInt32 = 0
        var offset = 0
        while true {
            while available <= 56, offset < bytes.count {
                pending = pending << 8 | UInt64(bytes[offset])
                available += 8
                offset += 1
            }
            if available == 0 { return written }
            // The next 32 bits, left-aligned; past the end they read as zeros, which is why a
            // code found must fit in what is available.
            let next = available >= 32 ? (pending >> UInt64(available - 32)) & 0xFFFF_FFFF : (pending << UInt64(32 - available)) & 0xFFFF_FFFF
            guard let length = code.lengths.first(where: { next < $0.limit }), length.bits <= available else {
                // What is left is no whole code: padding, which must be under 8 bits and all
                // ones (the first bits of EOS).
                let ones = (UInt64(1) << UInt64(available)) - 1
                guard available <= 7, pending & ones == ones else { throw InvalidCode() }
                return written
            }
            let symbol = code.symbols[length.firstSymbol + Int(UInt32(next >> UInt64(32 - length.bits)) - length.firstCode)]
            guard symbol < 256 else { throw InvalidCode() }  // EOS in the data
            guard written < output.count else { throw InvalidCode() }
            output[written] = UInt8(symbol)
            written += 1
            available -= length.bits
            pending &= (UInt64(1) << UInt64(available)) - 1
        }
    }
}
