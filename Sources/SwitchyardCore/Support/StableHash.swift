/// A 64-bit hash that is the same in every process and on every run (unlike `Hasher`), for
/// placing endpoints on a hash ring and hashing request keys: FNV-1a over the bytes, then the
/// SplitMix64 finaliser to spread FNV's weak low bits.
public enum StableHash {
    /// Hashes the UTF-8 bytes of `text`, mixed with `seed`.
    @inlinable
    public static func hash(_ text: String, seed: UInt64 = 0) -> UInt64 {
        var copy = text
        return copy.withUTF8 { hash(bytes: UnsafeRawBufferPointer($0), seed: seed) }
    }

    /// Hashes `bytes`, mixed with `seed`.
    @inlinable
    public static func hash(bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ seed
        for byte in bytes {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        return mix(h)
    }

    /// The SplitMix64 finaliser: a bijection that makes every output bit depend on every input bit.
    @inlinable
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
