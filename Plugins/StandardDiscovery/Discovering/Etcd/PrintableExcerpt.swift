/// At most 200 characters of `bytes` for an error message: printable ASCII kept, anything
/// else (a control character, UTF-8, garbage) shown as `?`, and `...` when cut.
func printableExcerpt(_ bytes: some Collection<UInt8>) -> String {
    let limit = 200
    var out = String(bytes.prefix(limit).map { (0x20..<0x7F).contains($0) ? Character(Unicode.Scalar($0)) : "?" })
    if bytes.count > limit { out += "..." }
    return out
}
