import Logging
import TrellisFSServer
import TrellisServices

// The code samples of the services' documentation, copied here so that the
// compiler checks them on every build. Nothing calls them.

/// The catalog's getting-started sample (TrellisServices.docc).
private func gettingStartedSample(configuration: FileSystemConfiguration) throws {
    let endpoint = try MetricsEndpoint.bind(host: "0.0.0.0", port: 9464, registry: PrometheusMetrics.bootstrap())
    let server = try FileSystemServer(configuration: configuration, index: 0)
    let service = BlockingService("server 0", run: { try server.run() }, stop: server.stop)
    try ServiceRunner.runUntilSignalled([service, endpoint], logger: Logger(label: "server"))
}

/// `MetricsEndpoint` (MetricsEndpoint.swift).
private func endpointSample(server: BlockingService) throws {
    let endpoint = try MetricsEndpoint.bind(host: "0.0.0.0", port: 9400, registry: PrometheusMetrics.bootstrap())
    print("metrics at http://\(endpoint.address)/metrics")
    try ServiceRunner.runUntilSignalled([server, endpoint], logger: Logger(label: "sample"))
}
