import CSwitchyardPlugin
import Synchronization
import Testing

@testable import SwitchyardPluginKit

/// The kit's side of ABI 1.1, through the C def it builds: an ``ObservingBalancer`` hears
/// outcomes, `update` carries each address's previous index, and the loads' backend-wide
/// in-flight count is read only where the host's elements hold it.
@Suite("ABI 1.1 in the kit")
struct ObservingBalancerTests {
    static let heard = Mutex<[String]>([])

    /// Records what it hears.
    final class Recorder: ObservingBalancer {
        static let name = "recorder"
        static let summary = "records updates and outcomes"
        init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {}
        func update(_ endpoints: [EndpointInfo]) {
            let previous = endpoints.map { $0.previousIndex.map(String.init) ?? "-" }.joined(separator: ",")
            ObservingBalancerTests.heard.withLock { $0.append("update \(previous)") }
        }
        func pick(_ request: PickRequest) -> Int? { request.readyIndex(0) }
        func observe(_ outcome: RequestOutcome) {
            ObservingBalancerTests.heard.withLock {
                $0.append("observed \(outcome.endpoint) \(outcome.httpStatus.map(String.init) ?? "-") \(outcome.grpcStatus.map(String.init) ?? "-") reset=\(outcome.reset) probe=\(outcome.probe) failure=\(outcome.isFailure)")
            }
        }
    }

    /// Not an observer: its def has no observe hook.
    final class Plain: Balancer {
        static let name = "plain"
        static let summary = "picks the first ready endpoint"
        init(config: PluginConfig, setup: inout BalancerSetup) throws(PluginConfigError) {}
        func update(_ endpoints: [EndpointInfo]) {}
        func pick(_ request: PickRequest) -> Int? { request.readyIndex(0) }
    }

    @Test("an observing balancer hears outcomes and previous indexes through its C def; a plain one has no hook")
    func throughTheDef() throws {
        #expect(makeBalancerDef(Plain.self).pointee.observe == nil)
        let def = makeBalancerDef(Recorder.self).pointee
        var instance: UnsafeMutableRawPointer?
        var model = sy_load_model(struct_size: UInt32(MemoryLayout<sy_load_model>.size), reserved: 0, default_rtt_ns: 1, decay_ns: 1)
        let status = "{}".withCString { json in
            var params = sy_balancer_params(
                struct_size: UInt32(MemoryLayout<sy_balancer_params>.size), loop_index: 0, config_json: sy_str(ptr: json, len: 2), seed: 1)
            return def.create(def.context, &params, &model, nil, &instance)
        }
        try #require(status == SY_OK && instance != nil)
        defer { def.destroy(instance) }
        "10.0.0.1:80".withCString { a in
            let address = sy_str(ptr: a, len: 11)
            // A 1.1 host sends previous_index; a 1.0 host's elements end before it.
            var current = [
                sy_endpoint(struct_size: 32, weight: 1, address: address, previous_index: SY_NEW_ENDPOINT, reserved: 0),
                sy_endpoint(struct_size: 32, weight: 1, address: address, previous_index: 0, reserved: 0),
            ]
            def.update(instance, &current, 2, UInt32(MemoryLayout<sy_endpoint>.stride))
            var old = [UInt8](repeating: 0, count: 48)
            old.withUnsafeMutableBytes { raw in
                for i in 0..<2 {
                    raw.storeBytes(of: 24, toByteOffset: i * 24, as: UInt32.self)
                    raw.storeBytes(of: 1, toByteOffset: i * 24 + 4, as: UInt32.self)
                    raw.storeBytes(of: address, toByteOffset: i * 24 + 8, as: sy_str.self)
                }
                def.update(instance, raw.baseAddress!.assumingMemoryBound(to: sy_endpoint.self), 2, 24)
            }
        }
        var outcome = sy_outcome(
            struct_size: UInt32(MemoryLayout<sy_outcome>.size), endpoint: 1, latency_ns: 5, http_status: 200, grpc_status: 14,
            flags: SY_OUTCOME_RESET | SY_OUTCOME_PROBE, reserved: 0)
        def.observe?(instance, &outcome)
        var refused = sy_outcome(struct_size: UInt32(MemoryLayout<sy_outcome>.size), endpoint: 0, latency_ns: 5, http_status: 0, grpc_status: -1, flags: SY_OUTCOME_CANCEL, reserved: 0)
        def.observe?(instance, &refused)
        #expect(Self.heard.withLock { $0 } == [
            "update -,0", "update -,-", "observed 1 200 14 reset=true probe=true failure=true", "observed 0 - - reset=false probe=false failure=false",
        ])
    }

    @Test("backendInFlight reads the 1.1 field where the elements hold it, and the loop's own count from a 1.0 host")
    func backendInFlight() {
        PickRequest.with([EndpointLoad(inFlight: 1, backendInFlight: 7)]) { request in
            #expect(request.backendInFlight(0) == 7 && request.inFlight(0) == 1 && request[0].backendInFlight == 7)
        }
        // A 1.0 host: 24-byte elements.
        var loads = [UInt8](repeating: 0, count: 24)
        loads.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: 1, toByteOffset: 0, as: UInt32.self)  // ready
            raw.storeBytes(of: 1, toByteOffset: 4, as: UInt32.self)  // weight
            raw.storeBytes(of: 4, toByteOffset: 8, as: UInt32.self)  // in_flight
            var pick = sy_pick(
                struct_size: 40, count: 1, ready_count: 1, load_size: 24, loads: UnsafePointer(raw.baseAddress!.assumingMemoryBound(to: sy_endpoint_load.self)),
                has_hash: 0, reserved: 0, hash: 0)
            withUnsafePointer(to: &pick) { pointer in
                let request = PickRequest(pointer)
                #expect(request.backendInFlight(0) == 4 && request.isReady(0))
            }
        }
    }
}
