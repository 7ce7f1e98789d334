import Gateway
import Metrics
import Prometheus

/// Serves a Prometheus registry through `/metrics`.
public struct PrometheusExporter: MetricsExporter {
    /// The registry every swift-metrics metric of this process lands in.
    public let registry: PrometheusCollectorRegistry

    /// Makes `registry` the process's metrics backend. Call once, at process start.
    public static func bootstrap() -> PrometheusExporter {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return PrometheusExporter(registry: registry)
    }

    /// An exporter of `registry` (which need not be the bootstrapped one).
    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    public func prometheusText() -> [UInt8] { registry.emitToBuffer() }
}
