import ArgumentParser
import TrellisServices

/// Where a long-lived command serves its Prometheus `/metrics`.
struct MetricsOptions: ParsableArguments {
    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (port 0: any free port; default: this process's own address, any free port).")
    var metricsAddress: String?
    @Flag(help: "Serve no /metrics endpoint.") var noMetrics = false

    /// The same choice, for a command this one starts in the background.
    var arguments: [String] {
        if noMetrics { return ["--no-metrics"] }
        return metricsAddress.map { ["--metrics-address", $0] } ?? []
    }

    /// The endpoint, bound (nil with --no-metrics), and the address to publish for it:
    /// a wildcard bind is published under `ownHost`, which other hosts can reach.
    /// Call it before making what reports metrics: it bootstraps the backend,
    /// and swift-metrics binds a metric to the backend of the time it is made.
    func endpoint(ownHost: String) throws -> (endpoint: MetricsEndpoint, published: String)? {
        guard !noMetrics else { return nil }
        var host = ownHost
        var port = 0
        if let metricsAddress {
            guard let colon = metricsAddress.lastIndex(of: ":"), let parsed = Int(metricsAddress[metricsAddress.index(after: colon)...]), (0...65535).contains(parsed) else {
                throw ValidationError("--metrics-address \(metricsAddress) is not HOST:PORT")
            }
            host = String(metricsAddress[..<colon])
            port = parsed
        }
        let endpoint = try MetricsEndpoint.bind(host: host, port: port, registry: PrometheusMetrics.bootstrap())
        let boundPort = endpoint.address.split(separator: ":").last.map(String.init) ?? String(port)
        return (endpoint, host == "0.0.0.0" ? "\(ownHost):\(boundPort)" : endpoint.address)
    }
}
