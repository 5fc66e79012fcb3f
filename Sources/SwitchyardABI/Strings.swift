@_exported import CSwitchyardPlugin

extension sy_str {
    /// Copies the borrowed bytes into a String, repairing invalid UTF-8 with U+FFFD.
    public var string: String {
        guard let ptr, len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: ptr, count: len), as: UTF8.self)
    }

    /// Copies the borrowed bytes into a String, or nil when they are not valid UTF-8.
    public var validatedString: String? {
        guard let ptr, len > 0 else { return "" }
        return String(validating: UnsafeRawBufferPointer(start: ptr, count: len), as: UTF8.self)
    }

    /// Whether this is the "absent" string (NULL pointer), as opposed to the empty string.
    public var isAbsent: Bool { ptr == nil }

    /// The absent string.
    public static var absent: sy_str { sy_str(ptr: nil, len: 0) }
}

/// Lends `strings` to C as `sy_str` values for the duration of `body`: all of them are laid in
/// one buffer, so this costs one allocation whatever the count. A nil string becomes the
/// absent `sy_str` (NULL pointer); an empty one a valid pointer with length 0.
public func withSyStrs<R>(_ strings: [String?], _ body: ([sy_str]) throws -> R) rethrows -> R {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(strings.reduce(1) { $0 + ($1?.utf8.count ?? 0) })
    var ranges: [Range<Int>?] = []
    ranges.reserveCapacity(strings.count)
    for string in strings {
        guard let string else {
            ranges.append(nil)
            continue
        }
        let start = bytes.count
        bytes.append(contentsOf: string.utf8)
        ranges.append(start..<bytes.count)
    }
    bytes.append(0)  // never empty, so every present string gets a non-NULL pointer
    return try bytes.withUnsafeBufferPointer { buffer in
        let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
        return try body(ranges.map { range in
            range.map { sy_str(ptr: base + $0.lowerBound, len: $0.count) } ?? .absent
        })
    }
}
