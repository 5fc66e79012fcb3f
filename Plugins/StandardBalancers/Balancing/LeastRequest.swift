#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchyardPluginKit

/// `least-request`, after Envoy's LEAST_REQUEST: draw `choiceCount` random ready endpoints and
/// take the one with the highest `weight / (inFlight + 1)^activeRequestBias`. With equal
/// weights that is simply the fewest requests in flight.
///
/// Config: `choiceCount` (default 2, 2-100), `activeRequestBias` (default 1.0, 0-10; 0 turns
/// the in-flight count off and leaves a weighted choice).
public final class LeastRequest: Balancer {
    public static let name = "least-request"
    public static let summary = "fewest requests in flight among N random choices (weighted)"

    private var random: Xoshiro256
    private let choiceCount: Int
    private let bias: Double

    public init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {
        choiceCount = try config.int("choiceCount", default: 2, range: 2...100)
        bias = try config.double("activeRequestBias", default: 1.0, range: 0...10)
        random = Xoshiro256(seed: setup.seed)
    }

    public func update(_ endpoints: [EndpointInfo]) {}

    private func score(_ request: PickRequest, _ index: Int) -> Double {
        let active = Double(request.inFlight(index) + 1)
        let weight = Double(request.weight(index))
        switch bias {
        case 1: return weight / active
        case 0: return weight
        default: return weight / pow(active, bias)
        }
    }

    public func pick(_ request: PickRequest) -> Int? {
        let ready = request.readyCount
        guard ready > 0 else { return nil }
        var best = request.readyIndex(random.next(below: ready))
        var bestScore = score(request, best)
        for _ in 1..<choiceCount {
            let candidate = request.readyIndex(random.next(below: ready))
            let candidateScore = score(request, candidate)
            if candidateScore > bestScore {
                best = candidate
                bestScore = candidateScore
            }
        }
        return best
    }
}
