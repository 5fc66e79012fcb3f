/// Header names: comparison without allocating, and lowercasing.
enum HeaderName {
    /// `name` with `A`-`Z` in lower case (names are tokens: ASCII). The name itself when it
    /// has no capital, so most names allocate nothing; otherwise one pass over its bytes.
    static func lowercased(_ name: String) -> String {
        var name = name
        return name.withUTF8 { bytes in
            guard let first = bytes.firstIndex(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else { return nil }
            return String(unsafeUninitializedCapacity: bytes.count) { target in
                for index in bytes.indices {
                    let byte = bytes[index]
                    target[index] = index >= first && byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                }
                return bytes.count
            }
        } ?? name
    }

    /// Whether `name` is `lowercase` (given in lower case), ignoring ASCII case.
    @inline(__always)
    static func `is`(_ name: some StringProtocol, _ lowercase: StaticString) -> Bool {
        HeaderText.equalsIgnoringCase(name.utf8, lowercase)
    }
}
