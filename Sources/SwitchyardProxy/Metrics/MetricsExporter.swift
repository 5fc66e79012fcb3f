import Prometheus
import SwitchyardPluginHost
import Synchronization

/// The proxy's metrics for the life of the process: one Prometheus registry that every table
/// the proxy serves in turn registers its series on (see ``ProxyMetrics``), so a series that
/// survives a config reload keeps counting, and one that does not is dropped.
public final class MetricsExporter: Sendable {
    /// The registry `/metrics` renders.
    let registry = PrometheusCollectorRegistry()
    private let pluginFaults = Mutex<[PluginFaults]>([])

    /// `switchyard_plugin_faults_total` of one resolver or balancer. Plugins count their
    /// faults themselves (lock-free, on the request path); the counter catches up when
    /// `/metrics` is read.
    private struct PluginFaults {
        let record: FaultRecord
        let counter: Counter
        var reported: Int
    }

    /// Creates an empty exporter.
    public init() {}

    /// The Prometheus text exposition of every series.
    public func exposition() -> [UInt8] {
        pluginFaults.withLock { entries in
            for i in entries.indices {
                let count = entries[i].record.count
                if count > entries[i].reported {
                    entries[i].counter.increment(by: Int64(count - entries[i].reported))
                    entries[i].reported = count
                }
            }
        }
        return registry.emitToBuffer()
    }

    /// Exports the fault counts of `plugins`' implementations (once each: plugins are never
    /// unloaded, so neither are their series).
    func track(_ plugins: [LoadedPlugin]) {
        pluginFaults.withLock { entries in
            for plugin in plugins {
                let implementations =
                    plugin.resolvers.map { ("resolver", $0.faults) } + plugin.balancers.map { ("balancer", $0.faults) }
                    + plugin.discoveries.map { ("discovery", $0.faults) }
                for (kind, record) in implementations where !entries.contains(where: { $0.record === record }) {
                    let counter = registry.makeCounter(
                        descriptor: MetricFamilies.pluginFaults,
                        labels: [("plugin", plugin.name), ("kind", kind), ("implementation", record.implementation)])
                    entries.append(PluginFaults(record: record, counter: counter, reported: 0))
                }
            }
        }
    }

    /// Drops the series of `counters` and `gauges` from the exposition.
    func unregister(counters: [Counter], gauges: [Gauge], histograms: [ValueHistogram] = []) {
        for counter in counters { registry.unregisterCounter(counter) }
        for gauge in gauges { registry.unregisterGauge(gauge) }
        for histogram in histograms { registry.unregisterValueHistogram(histogram) }
    }
}
