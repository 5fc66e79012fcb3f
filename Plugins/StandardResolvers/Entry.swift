import SwitchyardPluginKit

/// The plugin's only exported symbol (see Plugins/plugin.exports).
@_cdecl("switchyard_plugin_entry_v1")
public func switchyardPluginEntry(_ host: PluginHostHandle) -> PluginDescriptorHandle {
    PluginExport.entry(
        host: host,
        name: "standard-resolvers",
        version: "1.0.0",
        resolvers: [K8sServiceName.self, K8sPodLabels.self, Unknown.self]
    )
}
