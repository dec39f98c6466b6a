import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TrellisCore
import TrellisFSProtocol
import TrellisFSServer
import TrellisServices
import TrellisSystem

/// `trellis mkfs`: prepares the storage folders of a file system.
struct MakeFileSystemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mkfs",
        abstract: "Prepare the storage folders of a file system described by a TOML file.",
        discussion: "Each server's folder gets a metadata database and a bstream folder; server 0 also gets the root directory. A folder already prepared is left alone, with an error.")

    @Option(help: "The file system's TOML configuration.") var config: String
    @Option(help: "Prepare only this server's folder (default: every server's).") var server: Int?
    @Option(help: "The root directory's times, in Unix seconds (default: now). With replicas, give every host the same when preparing servers one by one, so that every copy of the root agrees.")
    var rootTime: Int64?

    func run() throws {
        TrellisCommand.bootstrapLogging()
        let configuration = try FileSystemConfiguration.load(path: config)
        let indices = server.map { [$0] } ?? Array(configuration.servers.indices)
        let rootTime = rootTime.map { Timestamp(seconds: $0) } ?? Timestamp.now()
        for index in indices {
            guard configuration.servers.indices.contains(index) else {
                throw CommandFailure("\(config) has no server \(index) (it lists \(configuration.servers.count))")
            }
            try ServerStorage.make(configuration, server: index, rootTime: rootTime)
            print("prepared server \(index) of \(configuration.name) in \(configuration.servers[index].storage)")
        }
    }
}

/// `trellis server`: runs one server of a file system until SIGINT or SIGTERM.
struct FileSystemServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run one server of a file system (metadata and data) from its TOML configuration.",
        discussion: """
            The server publishes its port as trellis-fs/NAME/INDEX in the name service, and where it serves Prometheus \
            metrics as trellis-fs/NAME/INDEX/metrics; it serves until SIGINT or SIGTERM, then finishes the requests \
            in hand, withdraws its names and exits 0.
            """)

    @Option(help: "The file system's TOML configuration.") var config: String
    @Option(help: "Which server of the configuration this is.") var index: Int
    @Flag(help: "Serve without authentication, as auth = \"none\" in the configuration: without it the server will not start without a cluster key.")
    var insecure = false
    @OptionGroup var metrics: MetricsOptions

    func run() throws {
        TrellisCommand.bootstrapLogging()
        var configuration = try FileSystemConfiguration.load(path: config)
        if insecure { configuration.authentication = .none }
        let ownHost = try ProcessEnvironment.value("TRELLIS_HOST") ?? configuration.listenAddress(ofServer: index)
        // Before the server: metrics made before the backend's bootstrap would report nowhere.
        let endpoint = try metrics.endpoint(ownHost: ownHost)
        let server: FileSystemServer
        do {
            server = try FileSystemServer(configuration: configuration, index: index)
        } catch let error as FSError where error.code == .invalidArgument {
            throw CommandFailure(error.message)
        }
        let (index, name) = (index, configuration.name)
        var services: [any Service] = [
            BlockingService("server \(index) of \(name)", run: {
                try server.run(metricsAddress: endpoint?.published) { port in
                    print("server \(index) of \(name) ready at \(port)\(endpoint.map { ", metrics at http://\($0.published)/metrics" } ?? "")")
                    print("server \(index) of \(name) \(server.identitySummary)")
                    fflush(nil)
                }
            }, stop: server.stop),
        ]
        if let endpoint { services.append(endpoint.endpoint) }
        try ServiceRunner.runUntilSignalled(services, logger: Logger(label: "trellis.fs.server"))
    }
}
