import Glibc
import ArgumentParser
import Foundation
import Synchronization
import TrellisCore
import TrellisFSProtocol
import TrellisFSServer
import TrellisLauncher
import TrellisNames
import TrellisRunCommand
import TrellisSystem

/// `trellis up-host` (internal): one host's part of `trellis up --hosts`,
/// run as one rank per host by the launcher's proxies. It writes the file
/// system's configuration (handed down in the environment) under the
/// host's data folder, makes its server's storage on the first run, starts
/// the name service on the first host and this host's server, and stops
/// them when the job is stopped.
struct UpHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up-host", abstract: "Serve one host's part of a file system over hosts (started by trellis up --hosts).", shouldDisplay: false)

    static let configurationKey = "TRELLIS_UP_CONFIGURATION"
    /// When the file system was made (Unix seconds): every host's copy of the root directory gets these times.
    static let rootTimeKey = "TRELLIS_UP_ROOT_TIME"

    @Option(help: "This host's data folder.") var data: String
    @Option(help: "The name service's address.") var names: String

    func run() throws {
        TrellisCommand.bootstrapLogging()
        let environment = ProcessEnvironment.current()
        guard let text = environment[Self.configurationKey], let index = environment["TRELLIS_RANK"].flatMap(Int.init) else {
            throw ValidationError("trellis up-host runs under trellis up --hosts, which hands it the configuration and its index")
        }
        let host = IPv4Address.thisHostName()
        let folder = URL(fileURLWithPath: data).standardizedFileURL.path
        let configPath = folder + "/fs.toml"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let configuration = try FileSystemConfiguration.parse(toml: text, source: Self.configurationKey)
        guard configuration.servers.indices.contains(index) else { throw CommandFailure("\(host): no server \(index) in the configuration") }
        if FileManager.default.fileExists(atPath: configPath) {
            let existing = try FileSystemConfiguration.load(path: configPath)
            guard existing.name == configuration.name, existing.servers.count == configuration.servers.count else {
                throw CommandFailure("\(host): \(folder) holds file system '\(existing.name)' with \(existing.servers.count) servers, not '\(configuration.name)' with \(configuration.servers.count)")
            }
        }
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
        if !FileManager.default.fileExists(atPath: configuration.servers[index].storage) {
            let rootTime = environment[Self.rootTimeKey].flatMap(Int64.init).map { Timestamp(seconds: $0) } ?? Timestamp.now()
            try ServerStorage.make(configuration, server: index, rootOwner: Credentials(uid: getuid(), gid: getgid()), rootTime: rootTime)
        }
        let me = currentExecutablePath()
        var childEnvironment = environment
        childEnvironment["TRELLIS_NAME_SERVICE"] = names
        childEnvironment["TRELLIS_NAMES_AUTOSTART"] = "0"
        childEnvironment["TRELLIS_HOST"] = nil
        // A proxy that loses its launcher ends this rank's process group: the server and name service go with it.
        let children = ChildProcesses(joinsProcessGroup: true)
        let namesAuthentication = NameServiceSetup.authentication(environment: childEnvironment)
        func answers() -> Bool { (try? NameServiceClient(address: names, timeoutSeconds: 1, authentication: namesAuthentication).call(NameRequest(.status))) != nil }
        if index == 0 {
            let log = folder + "/names.log"
            try children.start(
                "the name service", [me, "names", "start", "--address", names] + NameServiceSetup.startFlags(environment: childEnvironment),
                environment: childEnvironment, log: log)
        }
        guard poll(until: .after(seconds: 60), intervalMicroseconds: 100_000, answers) else {
            throw CommandFailure("\(host): the name service at \(names) does not answer")
        }
        let log = "\(folder)/server\(index).log"
        try children.start("server \(index)", [me, "server", "--config", configPath, "--index", String(index)], environment: childEnvironment, log: log)
        print("server \(index) of '\(configuration.name)' starting on \(host), data in \(configuration.servers[index].storage)")
        fflush(nil)
        try children.waitForStop { child, status in
            throw CommandFailure("\(host): \(child.what) exited (status \(status)); \(child.log): \(ChildProcesses.tail(of: child.log))")
        }
    }
}
