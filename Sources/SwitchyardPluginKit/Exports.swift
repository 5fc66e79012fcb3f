// Plugin authors import only SwitchyardPluginKit, and see the domain types a resolver or
// balancer works with, not the proxy's router and policy model: metadata answers, a JSON config
// value, duration text (`250ms`), stable hashing and a seedable generator.
@_exported import enum SwitchyardCore.Meta
@_exported import enum SwitchyardCore.JSONValue
@_exported import enum SwitchyardCore.DurationText
@_exported import enum SwitchyardCore.StableHash
@_exported import struct SwitchyardCore.Xoshiro256
