import ArgumentParser
import Foundation
import TrellisCore
import TrellisFSProtocol
import TrellisFSServer

/// `trellis mkfs`: prepares the storage folders of a file system.
struct MakeFileSystemCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mkfs",
        abstract: "Prepare the storage folders of a file system described by a TOML file.",
        discussion: "Each server's folder gets a metadata database and a bstream folder; server 0 also gets the root directory. A folder already prepared is left alone, with an error.")

    @Option(help: "The file system's TOML configuration.") var config: String
    @Option(help: "Prepare only this server's folder (default: every server's).") var server: Int?

    func run() throws {
        TrellisCommand.bootstrapLogging()
        let configuration = try FileSystemConfiguration.load(path: config)
        let indices = server.map { [$0] } ?? Array(configuration.servers.indices)
        for index in indices {
            guard configuration.servers.indices.contains(index) else {
                throw CommandFailure("\(config) has no server \(index) (it lists \(configuration.servers.count))")
            }
            try ServerStorage.make(configuration, server: index)
            print("prepared server \(index) of \(configuration.name) in \(configuration.servers[index].storage)")
        }
    }
}

/// `trellis server`: runs one server of a file system until SIGINT or SIGTERM.
struct FileSystemServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run one server of a file system (metadata and data) from its TOML configuration.",
        discussion: "The server publishes its port as trellis-fs/NAME/INDEX in the name service and serves until SIGINT or SIGTERM.")

    @Option(help: "The file system's TOML configuration.") var config: String
    @Option(help: "Which server of the configuration this is.") var index: Int

    func run() throws {
        TrellisCommand.bootstrapLogging()
        let configuration = try FileSystemConfiguration.load(path: config)
        let server = try FileSystemServer(configuration: configuration, index: index)
        let signals = stopOnSignals { server.stop() }
        try server.run { port in
            print("server \(index) of \(configuration.name) ready at \(port)")
            fflush(nil)
        }
        withExtendedLifetime(signals) {}
    }
}
