import SwitchyardCore

/// Seeded mutations of HTTP/1.x messages for the parser tests: each input is a corpus entry
/// with up to four bytes replaced, removed, or runs of it repeated.
struct ParserMutations: Sequence, IteratorProtocol {
    /// Bytes a mutation puts in: line ends, separators, digits, hex.
    static let interesting = Array("\r\n :;0aF9-".utf8)

    private let corpus: [[UInt8]]
    private var random: Xoshiro256
    private var left: Int

    init(of corpus: [String], seed: UInt64, count: Int) {
        self.corpus = corpus.map { Array($0.utf8) }
        random = Xoshiro256(seed: seed)
        left = count
    }

    /// The next mutated input, as a String (each test feeds Strings).
    mutating func next() -> String? {
        guard left > 0, !corpus.isEmpty else { return nil }
        left -= 1
        var input = corpus[random.next(below: corpus.count)]
        for _ in 0...random.next(below: 3) where !input.isEmpty {
            let at = random.next(below: input.count)
            switch random.next(below: 3) {
            case 0: input[at] = Self.interesting[random.next(below: Self.interesting.count)]
            case 1: input.remove(at: at)
            default: input.insert(contentsOf: input[at..<Swift.min(input.count, at + 1 + random.next(below: 20))], at: at)
            }
        }
        return String(decoding: input, as: UTF8.self)
    }
}
