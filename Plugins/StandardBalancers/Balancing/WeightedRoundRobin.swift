import SwitchyardPluginKit

/// `weighted-round-robin`, nginx's smooth weighted round-robin: each pick adds every ready
/// endpoint's weight to its running score, takes the highest, and charges it the total.
/// Weights 5, 1, 1 give `a a b a c a a` rather than `a a a a a b c`.
public final class WeightedRoundRobin: Balancer {
    public static let name = "weighted-round-robin"
    public static let summary = "smooth weighted round-robin (nginx's), in proportion to weight"

    private var current: [Int] = []

    public init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {}

    public func update(_ endpoints: [EndpointInfo]) {
        current = Array(repeating: 0, count: endpoints.count)
    }

    public func pick(_ request: PickRequest) -> Int? {
        guard request.readyCount > 0, current.count == request.count else { return nil }
        var total = 0
        var best = -1
        for index in 0..<request.count where request.isReady(index) {
            let weight = request.weight(index)
            current[index] += weight
            total += weight
            if best < 0 || current[index] > current[best] { best = index }
        }
        current[best] -= total
        return best
    }
}
