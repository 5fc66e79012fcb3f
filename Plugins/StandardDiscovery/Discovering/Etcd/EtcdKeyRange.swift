/// The `[key, range_end)` interval etcd takes for every key that starts with a prefix.
struct EtcdKeyRange: Equatable {
    /// The first key.
    let key: [UInt8]
    /// The end, exclusive; `[0]` means no end.
    let rangeEnd: [UInt8]

    /// The keys starting with `prefix`: the end is `prefix` with its last byte below 0xFF
    /// incremented and the bytes after it dropped (no end when every byte is 0xFF); an empty
    /// prefix is every key, `["\0", "\0")` in etcd's terms.
    init(prefix: [UInt8]) {
        guard !prefix.isEmpty else {
            key = [0]
            rangeEnd = [0]
            return
        }
        key = prefix
        if let last = prefix.lastIndex(where: { $0 < 0xFF }) {
            rangeEnd = prefix[..<last] + [prefix[last] + 1]
        } else {
            rangeEnd = [0]
        }
    }
}
