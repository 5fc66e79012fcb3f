// Plugin authors import only SwitchyardPluginKit: the domain types (Meta, Duration parsing,
// stable hashing, a seedable generator) come with it.
@_exported import SwitchyardCore
