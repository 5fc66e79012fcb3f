import SwitchyardPluginKit

/// The standard discoveries: `dns`, `file` and `etcd` (DESIGN.md §12). Each watches its source
/// on a thread of its own with plain POSIX sockets and files; the plugin links no SwiftNIO.
@_cdecl("switchyard_plugin_entry_v1")
public func switchyardPluginEntry(_ host: PluginHostHandle) -> PluginDescriptorHandle {
    PluginExport.entry(host: host, name: "standard-discovery", version: "1.0.0", discoveries: [DNSDiscovery.self, FileDiscovery.self, EtcdDiscovery.self])
}
