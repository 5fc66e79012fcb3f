import SwitchyardPluginKit

/// `random`: a uniformly random ready endpoint (weights ignored, as in Envoy's RANDOM).
public final class RandomChoice: Balancer {
    public static let name = "random"
    public static let summary = "a uniformly random ready endpoint"

    private var random: Xoshiro256

    public init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {
        random = Xoshiro256(seed: setup.seed)
    }

    public func update(_ endpoints: [EndpointInfo]) {}

    public func pick(_ request: PickRequest) -> Int? {
        guard request.readyCount > 0 else { return nil }
        return request.readyIndex(random.next(below: request.readyCount))
    }
}
