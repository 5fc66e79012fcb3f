import SwitchyardPluginKit

/// `maglev`, Google's Maglev consistent hashing (Eisenbud et al., NSDI 2016; Envoy's MAGLEV):
/// a lookup table of prime size `tableSize` where each endpoint fills slots along its own
/// permutation (offset and skip from two hashes of its address), taking turns in proportion to
/// weight. Lookups are one table read; when the endpoint set changes, most slots keep their
/// owner. A slot whose owner is not ready passes to the next slot's owner. Without a request
/// hash the pick is random.
///
/// Config: `tableSize` (default 65537; a prime from 3 to 5000011).
public final class Maglev: Balancer {
    public static let name = "maglev"
    public static let summary = "Maglev consistent-hash lookup table (needs hashPolicy)"

    private let tableSize: Int
    private var random: Xoshiro256
    private var table: [Int32] = []

    public init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {
        tableSize = try config.int("tableSize", default: 65537, range: 3...5_000_011)
        guard Maglev.isPrime(tableSize) else {
            throw PluginConfigError(key: "tableSize", message: "must be a prime number, got \(tableSize)")
        }
        random = Xoshiro256(seed: setup.seed)
    }

    static func isPrime(_ n: Int) -> Bool {
        guard n >= 2 else { return false }
        var divisor = 2
        while divisor * divisor <= n {
            if n % divisor == 0 { return false }
            divisor += 1
        }
        return true
    }

    public func update(_ endpoints: [EndpointInfo]) {
        guard !endpoints.isEmpty else {
            table = []
            return
        }
        let size = UInt64(tableSize)
        let offsets = endpoints.map { StableHash.hash($0.address, seed: 0) % size }
        let skips = endpoints.map { StableHash.hash($0.address, seed: 1) % (size - 1) + 1 }
        let weights = endpoints.map { UInt64(max($0.weight, 1)) }
        let maxWeight = weights.max()!
        var next = [UInt64](repeating: 0, count: endpoints.count)
        // An endpoint of weight w takes a turn whenever iteration × w has caught up with its
        // target, so over the build it takes turns in proportion to w (Envoy's scheme).
        var target = [UInt64](repeating: 0, count: endpoints.count)
        var filled = [Int32](repeating: -1, count: tableSize)
        var placed = 0
        var iteration: UInt64 = 1
        while placed < tableSize {
            for index in endpoints.indices where placed < tableSize {
                guard iteration * weights[index] >= target[index] else { continue }
                target[index] += maxWeight
                var slot = Int((offsets[index] + next[index] * skips[index]) % size)
                while filled[slot] >= 0 {
                    next[index] += 1
                    slot = Int((offsets[index] + next[index] * skips[index]) % size)
                }
                filled[slot] = Int32(index)
                next[index] += 1
                placed += 1
            }
            iteration += 1
        }
        table = filled
    }

    public func pick(_ request: PickRequest) -> Int? {
        guard request.readyCount > 0, !table.isEmpty else { return nil }
        guard let hash = request.hash else { return request.readyIndex(random.next(below: request.readyCount)) }
        let start = Int(hash % UInt64(table.count))
        for step in 0..<table.count {
            let owner = Int(table[(start + step) % table.count])
            if owner < request.count, request.isReady(owner) { return owner }
        }
        return nil
    }
}
