import CSwitchyardPlugin
import Testing

@testable import SwitchyardPluginKit

/// A Swift balancer's own bug (asking about an endpoint that is not there) reaches the host as
/// SY_PICK_ERROR, a fault it counts and answers safely, never as a crash of the proxy.
@Suite("Pick misuse")
struct PickMisuseTests {
    /// Asks about endpoint 99 of however many there are.
    final class OutOfRange: Balancer {
        static let name = "out-of-range"
        static let summary = "asks about an endpoint that is not there"
        init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {}
        func update(_ endpoints: [EndpointInfo]) {}
        func pick(_ request: PickRequest) -> Int? { request.isReady(99) ? 99 : 0 }
    }

    /// Asks for a ready ordinal past readyCount.
    final class PastReady: Balancer {
        static let name = "past-ready"
        static let summary = "asks for the readyCount-th ready endpoint"
        init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {}
        func update(_ endpoints: [EndpointInfo]) {}
        func pick(_ request: PickRequest) -> Int? { request.readyIndex(request.readyCount) }
    }

    /// Picks the first ready endpoint.
    final class FirstReady: Balancer {
        static let name = "first-ready"
        static let summary = "the first ready endpoint"
        init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {}
        func update(_ endpoints: [EndpointInfo]) {}
        func pick(_ request: PickRequest) -> Int? { request.readyIndex(0) }
    }

    /// What `abiPick` answers for `balancer` over two endpoints, the first not ready.
    func answer(_ balancer: any Balancer) -> Int32 {
        let loads = [
            sy_endpoint_load(ready: 0, weight: 1, in_flight: 0, reserved: 0, cost: 1, backend_in_flight: 0, reserved2: 0),
            sy_endpoint_load(ready: 1, weight: 1, in_flight: 0, reserved: 0, cost: 1, backend_in_flight: 0, reserved2: 0),
        ]
        return loads.withUnsafeBufferPointer { buffer in
            var pick = sy_pick(
                struct_size: UInt32(MemoryLayout<sy_pick>.size), count: 2, ready_count: 1,
                load_size: UInt32(MemoryLayout<sy_endpoint_load>.stride), loads: buffer.baseAddress, has_hash: 0, reserved: 0, hash: 0)
            return withUnsafePointer(to: &pick) { abiPick(BalancerBox(balancer), $0) }
        }
    }

    @Test("an out-of-range index or ready ordinal becomes SY_PICK_ERROR; a good pick passes through")
    func misuseIsAFault() throws {
        var setup = BalancerSetup(seed: 1)
        let config = try PluginConfig(json: "{}")
        #expect(answer(try OutOfRange(config: config, setup: &setup)) == SY_PICK_ERROR)
        #expect(answer(try PastReady(config: config, setup: &setup)) == SY_PICK_ERROR)
        #expect(answer(try FirstReady(config: config, setup: &setup)) == 1)
    }
}
