import Metrics
import Prometheus
import Synchronization

/// The process's swift-metrics backend: Prometheus, bootstrapped once.
/// Counters, timers and gauges made anywhere in Trellis (runtime traffic,
/// file-system operations, the mount) land in `registry`, which a
/// `MetricsEndpoint` serves as `/metrics`.
public enum PrometheusMetrics {
    private static let bootstrapped = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The registry, bootstrapping swift-metrics with it on the first call.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        bootstrapped.withLock { registry in
            if let registry { return registry }
            let made = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: made)
            // Request latencies run from microseconds (a cached stat) to seconds (a fan-out over slow disks).
            factory.defaultDurationHistogramBuckets = [
                .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
                .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
                .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            ]
            MetricsSystem.bootstrap(factory)
            registry = made
            return made
        }
    }
}
