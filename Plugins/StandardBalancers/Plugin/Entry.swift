import StandardBalancing
import SwitchyardPluginKit

/// The plugin's only exported symbol (see Plugins/plugin.exports).
@_cdecl("switchyard_plugin_entry_v1")
public func switchyardPluginEntry(_ host: PluginHostHandle) -> PluginDescriptorHandle {
    PluginExport.entry(
        host: host,
        name: "standard-balancers",
        version: "1.0.0",
        balancers: [
            P2CPeakEwma.self, RoundRobin.self, LeastRequest.self, RandomChoice.self,
            WeightedRoundRobin.self, RingHash.self, Maglev.self,
        ]
    )
}
