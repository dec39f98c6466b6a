import Prometheus
import Testing
import TrellisServices

@Suite("Metrics text, rates and the /metrics endpoint")
struct MetricsEndpointTests {
    @Test func theTextFormatParsesLabelsEscapesAndSpecialValues() {
        let samples = MetricSample.parse("""
            # HELP x something
            # TYPE trellis_fs_requests_total counter
            trellis_fs_requests_total{fs="a \\"quoted\\" name",server="0",operation="Stat"} 12
            trellis_fs_request_duration_seconds_bucket{le="+Inf"} 3
            plain_gauge 2.5
            bucket_without_value{le="1"}
            """)
        #expect(samples == [
            MetricSample(name: "trellis_fs_requests_total", labels: ["fs": "a \"quoted\" name", "server": "0", "operation": "Stat"], value: 12),
            MetricSample(name: "trellis_fs_request_duration_seconds_bucket", labels: ["le": "+Inf"], value: 3),
            MetricSample(name: "plain_gauge", labels: [:], value: 2.5),
        ])
    }

    @Test func ratesSumSeriesAndTakeAResetCounterFromZero() {
        func sample(_ operation: String, _ value: Double) -> MetricSample {
            MetricSample(name: "requests", labels: ["operation": operation], value: value)
        }
        let delta = MetricsDelta(
            before: [sample("Stat", 10), sample("Lookup", 100), MetricSample(name: "sessions", labels: [:], value: 1)],
            after: [sample("Stat", 30), sample("Lookup", 4), sample("Rename", 2), MetricSample(name: "sessions", labels: [:], value: 3)],
            seconds: 2)
        #expect(delta.rates("requests", by: "operation") == ["Stat": 10, "Lookup": 2, "Rename": 1])
        #expect(delta.rate("requests") == 13)
        #expect(delta.rate("requests", matching: ["operation": "Stat"]) == 10)
        #expect(delta.current("sessions") == 3)
    }

    @Test func theEndpointServesTheRegistryAndAClosedPortIsAnError() throws {
        let registry = PrometheusCollectorRegistry()
        let counter = registry.makeCounter(name: "trellis_test_events_total", labels: [("kind", "probe")])
        counter.increment(by: Int64(41))
        counter.increment()
        let endpoint = try MetricsEndpoint.bind(host: "127.0.0.1", port: 0, registry: registry)
        defer { endpoint.close() }
        let samples = try MetricsScrape.fetch(endpoint.address)
        #expect(samples.contains(MetricSample(name: "trellis_test_events_total", labels: ["kind": "probe"], value: 42)))
        #expect(throws: (any Error).self) { try MetricsScrape.fetch("127.0.0.1:1") }
    }

    @Test func aPortInUseIsAClearError() throws {
        let first = try MetricsEndpoint.bind(host: "127.0.0.1", port: 0, registry: PrometheusCollectorRegistry())
        defer { first.close() }
        let port = Int(first.address.split(separator: ":").last!)!
        let error = #expect(throws: MetricsEndpointError.self) {
            _ = try MetricsEndpoint.bind(host: "127.0.0.1", port: port, registry: PrometheusCollectorRegistry())
        }
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
    }
}
