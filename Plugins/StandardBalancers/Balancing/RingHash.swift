import SwitchyardPluginKit

/// `ring-hash`, consistent hashing on a ring (Karger et al.; Envoy's RING_HASH). Each
/// endpoint owns points on a 64-bit ring in proportion to its weight, placed by hashing its
/// address, so the ring depends only on the endpoint set: removing one endpoint moves only the
/// keys it owned. A request goes to the owner of the first point at or after its hash, walking
/// on past endpoints that are not ready. Without a request hash the pick is random.
///
/// Config: `minRingSize` (default 1024) and `maxRingSize` (default 8388608), bounds on the
/// number of points.
public final class RingHash: Balancer {
    public static let name = "ring-hash"
    public static let summary = "consistent hashing on a ring of weighted points (needs hashPolicy)"

    private let minRingSize: Int
    private let maxRingSize: Int
    private var random: Xoshiro256
    /// Point hashes, ascending, and the endpoint owning each (parallel arrays).
    private var points: [UInt64] = []
    private var owners: [Int32] = []

    public init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {
        minRingSize = try config.int("minRingSize", default: 1024, range: 1...8_388_608)
        maxRingSize = try config.int("maxRingSize", default: 8_388_608, range: 1...8_388_608)
        guard minRingSize <= maxRingSize else {
            throw PluginConfigError(key: "minRingSize", message: "must not exceed maxRingSize (\(maxRingSize)), got \(minRingSize)")
        }
        random = Xoshiro256(seed: setup.seed)
    }

    public func update(_ endpoints: [EndpointInfo]) {
        let totalWeight = endpoints.reduce(0) { $0 + max($1.weight, 1) }
        let ringSize = min(max(minRingSize, endpoints.count), maxRingSize)
        var ring: [(hash: UInt64, owner: Int32)] = []
        ring.reserveCapacity(ringSize + endpoints.count)
        for (index, endpoint) in endpoints.enumerated() {
            let share = Double(ringSize) * Double(max(endpoint.weight, 1)) / Double(max(totalWeight, 1))
            for replica in 0..<max(1, Int(share.rounded())) {
                ring.append((StableHash.hash("\(endpoint.address)_\(replica)"), Int32(index)))
            }
        }
        ring.sort { $0.hash < $1.hash }
        points = ring.map(\.hash)
        owners = ring.map(\.owner)
    }

    public func pick(_ request: PickRequest) -> Int? {
        guard request.readyCount > 0, !points.isEmpty else { return nil }
        guard let hash = request.hash else { return request.readyIndex(random.next(below: request.readyCount)) }
        // First point at or after the hash, wrapping to the start.
        var low = 0
        var high = points.count
        while low < high {
            let mid = (low + high) / 2
            if points[mid] < hash { low = mid + 1 } else { high = mid }
        }
        for step in 0..<points.count {
            let owner = Int(owners[(low + step) % points.count])
            if owner < request.count, request.isReady(owner) { return owner }
        }
        return nil
    }
}
