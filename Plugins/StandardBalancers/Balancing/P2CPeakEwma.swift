import SwitchyardPluginKit

/// `p2c-peak-ewma`, the default (DESIGN.md §5): the power of two choices over peak-EWMA cost.
/// Among ready endpoints: none → none, one → it, else two distinct random picks and the
/// lower cost wins (the first on a tie).
///
/// Config: `defaultRtt` (default 30ms) and `decay` (default 10s), the parameters of the
/// peak-EWMA estimate the host keeps for each endpoint.
public final class P2CPeakEwma: Balancer {
    public static let name = "p2c-peak-ewma"
    public static let summary = "power of two random choices, lower peak-EWMA cost wins (default)"

    private var random: Xoshiro256

    public init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {
        setup.defaultRtt = try config.duration("defaultRtt", default: setup.defaultRtt, atLeast: .nanoseconds(1))
        setup.decay = try config.duration("decay", default: setup.decay, atLeast: .milliseconds(1))
        random = Xoshiro256(seed: setup.seed)
    }

    public func update(_ endpoints: [EndpointInfo]) {}

    public func pick(_ request: PickRequest) -> Int? {
        let ready = request.readyCount
        switch ready {
        case 0: return nil
        case 1: return request.readyIndex(0)
        default:
            let first = random.next(below: ready)
            var second = random.next(below: ready - 1)
            if second >= first { second += 1 }
            let a = request.readyIndex(first)
            let b = request.readyIndex(second)
            return request.cost(b) < request.cost(a) ? b : a
        }
    }
}
