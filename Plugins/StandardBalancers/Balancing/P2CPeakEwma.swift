import SwitchyardPluginKit

/// `p2c-peak-ewma`, the default (DESIGN.md §5): the power of two choices over peak-EWMA cost.
/// Among ready endpoints: none → none, one → it, else two distinct random picks and the
/// lower cost wins (the first on a tie).
///
/// Config: `defaultRtt` (default 30ms) and `decay` (default 10s), the parameters of the
/// peak-EWMA estimate the host keeps for each endpoint, and `rttFloor` (default 1ms, 0 turns
/// it off): estimates below it count as it. Two endpoints answering in 0.1 and 0.2 ms are
/// equally fast for any client, but peak-EWMA keeps a peak for seconds, so comparing them as
/// measured would starve the one that once answered a few microseconds slower; floored, they
/// tie and the lower in-flight count decides. A cost of 0 (an endpoint the host has not tried
/// yet, DESIGN.md §5) stays 0.
public final class P2CPeakEwma: Balancer {
    public static let name = "p2c-peak-ewma"
    public static let summary = "power of two random choices, lower peak-EWMA cost wins (default)"

    private var random: Xoshiro256
    /// `rttFloor` in nanoseconds.
    private let floor: Double

    public init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {
        setup.defaultRtt = try config.duration("defaultRtt", default: setup.defaultRtt, atLeast: .nanoseconds(1))
        setup.decay = try config.duration("decay", default: setup.decay, atLeast: .milliseconds(1))
        floor = Double(try config.duration("rttFloor", default: .milliseconds(1), atLeast: .zero).nanoseconds)
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
            return cost(b, request) < cost(a, request) ? b : a
        }
    }

    /// The host's cost of endpoint `index`, its estimate raised to the floor.
    private func cost(_ index: Int, _ request: PickRequest) -> Double {
        let cost = request.cost(index)
        guard cost > 0 else { return 0 }
        return max(cost, floor * Double(request.inFlight(index) + 1))
    }
}
