import SwitchyardPluginKit

/// `round-robin`: each ready endpoint in turn, skipping ones that are not ready. Every event
/// loop's instance starts at a seed-chosen place, so loops do not all begin on the same one.
public final class RoundRobin: Balancer {
    public static let name = "round-robin"
    public static let summary = "each ready endpoint in turn"

    private var random: Xoshiro256
    private var next = 0

    public init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {
        random = Xoshiro256(seed: setup.seed)
    }

    public func update(_ endpoints: [EndpointInfo]) {
        next = endpoints.isEmpty ? 0 : random.next(below: endpoints.count)
    }

    public func pick(_ request: PickRequest) -> Int? {
        let count = request.count
        guard request.readyCount > 0 else { return nil }
        var index = next < count ? next : 0
        while !request.isReady(index) {
            index = index + 1 == count ? 0 : index + 1
        }
        next = index + 1 == count ? 0 : index + 1
        return index
    }
}
