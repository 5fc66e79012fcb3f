import SwitchyardPluginKit

/// `ring-hash`, consistent hashing on a ring (Karger et al.; ketama). Each endpoint owns
/// `replicas × weight` points on a 64-bit ring, placed by hashing its address, so its points
/// depend on nothing but itself: removing an endpoint moves only the keys it owned, and adding
/// one takes keys only for itself. (Envoy instead scales every endpoint's points to fill a
/// minimum ring size, which reshuffles some keys on any change.) A request goes to the owner
/// of the first point at or after its hash, walking on past endpoints that are not ready.
/// Without a request hash the pick is random.
///
/// Config: `replicas` (points per unit of weight, default 160, 1-10000) and `maxRingSize`
/// (default 8388608): a ring that would be larger is scaled down to it, giving up some of the
/// stability for memory.
public final class RingHash: Balancer {
    public static let name = "ring-hash"
    public static let summary = "consistent hashing on a ring of weighted points (needs hashPolicy)"

    private let replicas: Int
    private let maxRingSize: Int
    private var random: Xoshiro256
    /// Point hashes, ascending, and the endpoint owning each (parallel arrays).
    private var points: [UInt64] = []
    private var owners: [Int32] = []

    public init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {
        replicas = try config.int("replicas", default: 160, range: 1...10_000)
        maxRingSize = try config.int("maxRingSize", default: 8_388_608, range: 1...8_388_608)
        random = Xoshiro256(seed: setup.seed)
    }

    public func update(_ endpoints: [EndpointInfo]) {
        let totalPoints = endpoints.reduce(0) { $0 + replicas * max($1.weight, 1) }
        let scale = totalPoints > maxRingSize ? Double(maxRingSize) / Double(totalPoints) : 1
        var ring: [(hash: UInt64, owner: Int32)] = []
        ring.reserveCapacity(min(totalPoints, maxRingSize) + endpoints.count)
        for (index, endpoint) in endpoints.enumerated() {
            let points = Double(replicas * max(endpoint.weight, 1)) * scale
            for replica in 0..<max(1, Int(points.rounded())) {
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
