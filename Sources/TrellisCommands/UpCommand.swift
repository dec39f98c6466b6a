#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Synchronization
import TrellisCore
import TrellisFSProtocol
import TrellisFSServer
import TrellisNames

/// `trellis up`: a whole local file system in one command — the name
/// service (unless one already answers) and N servers with their storage
/// under one folder — stopped cleanly on Ctrl-C or SIGTERM.
struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a local file system: the name service and N servers, with all data under one folder.",
        discussion: """
            The first run writes DATA/fs.toml and prepares each server's folder; later runs reuse them, so files \
            survive. Clients on this host reach the file system by its name. Ctrl-C stops everything.
            """)

    @Option(help: "Servers to run (each holds metadata and data).") var servers = 4
    @Option(help: "Folder for the configuration and every server's storage.") var data = "trellis-data"
    @Option(help: "The file system's name.") var name = "trellis"
    @Option(help: "Default strip size of new files, in bytes.") var stripSizeBytes: UInt64 = 65_536

    func run() throws {
        TrellisCommand.bootstrapLogging()
        guard servers >= 1, servers <= 256 else { throw ValidationError("--servers must be 1 to 256") }
        let folder = URL(fileURLWithPath: data).standardizedFileURL.path
        let configPath = folder + "/fs.toml"
        let configuration = try prepare(folder: folder, configPath: configPath)
        let me = currentExecutablePath()
        var environment = ProcessEnvironment.current()
        let address = try NameServiceLocation.resolve(environment: environment).address
        environment["TRELLIS_NAME_SERVICE"] = address
        environment["TRELLIS_NAMES_AUTOSTART"] = "0"

        var children: [(what: String, pid: pid_t)] = []
        let stopping = Atomic<Bool>(false)
        let signals = stopOnSignals { stopping.store(true, ordering: .releasing) }
        defer {
            // Servers first (they unpublish), then the name service this command started.
            for child in children.reversed() {
                kill(child.pid, SIGTERM)
                _ = ProcessSpawner.waitForExit(child.pid)
            }
            withExtendedLifetime(signals) {}
        }
        if (try? NameServiceClient(address: address, timeoutSeconds: 1).call(NameRequest(.status))) == nil {
            children.append(("name service", try spawn([me, "names", "start", "--address", address], log: folder + "/names.log", environment)))
            try waitUntil("the name service at \(address) answers", seconds: 30) {
                (try? NameServiceClient(address: address, timeoutSeconds: 1).call(NameRequest(.status))) != nil
            }
        }
        for index in 0..<configuration.servers.count {
            children.append(("server \(index)", try spawn(
                [me, "server", "--config", configPath, "--index", String(index)], log: folder + "/server\(index).log", environment)))
        }
        let client = NameServiceClient(address: address, timeoutSeconds: 2)
        try waitUntil("every server published its port", seconds: 60) {
            (0..<configuration.servers.count).allSatisfy { index in
                (try? client.call(NameRequest(.lookup, service: configuration.serviceName(ofServer: index)))).map { $0.ok } == true
            }
        }
        print("file system '\(name)' is up: \(configuration.servers.count) servers, data in \(folder), name service \(address)")
        print("clients reach it by the name \(name) (FileSystemClient.connect(name:)); Ctrl-C stops it")
        fflush(nil)
        while !stopping.load(ordering: .acquiring) {
            for child in children {
                var status: Int32 = 0
                if waitpid(child.pid, &status, WNOHANG) == child.pid {
                    children.removeAll { $0.pid == child.pid }
                    throw CommandFailure("\(child.what) exited unexpectedly; see \(folder)/\(child.what == "name service" ? "names" : "server\(child.what.split(separator: " ").last!)").log")
                }
            }
            usleep(200_000)
        }
        print("stopping file system '\(name)'")
    }

    /// Writes the configuration and prepares the folders on the first run;
    /// checks that a later run asks for the same file system.
    private func prepare(folder: String, configPath: String) throws -> FileSystemConfiguration {
        if FileManager.default.fileExists(atPath: configPath) {
            let existing = try FileSystemConfiguration.load(path: configPath)
            guard existing.servers.count == servers, existing.name == name else {
                throw CommandFailure("\(folder) holds file system '\(existing.name)' with \(existing.servers.count) servers; use --servers \(existing.servers.count) --name \(existing.name), or another --data")
            }
            return existing
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let configuration = try FileSystemConfiguration(
            name: name, servers: (0..<servers).map { .init(host: "127.0.0.1", storage: "\(folder)/server\($0)") }, stripSizeBytes: stripSizeBytes)
        for index in 0..<servers { try ServerStorage.make(configuration, server: index, rootOwner: Credentials(uid: getuid(), gid: getgid())) }
        try configuration.toml().write(toFile: configPath, atomically: true, encoding: .utf8)
        return configuration
    }

    private func spawn(_ arguments: [String], log: String, _ environment: [String: String]) throws -> pid_t {
        let descriptor = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CommandFailure("cannot open log \(log)") }
        defer { close(descriptor) }
        return try ProcessSpawner.spawn(
            arguments: arguments, environment: environment,
            descriptors: ChildDescriptors(standardInput: nil, standardOutput: descriptor, standardError: descriptor), processGroup: 0)
    }

    private func waitUntil(_ what: String, seconds: Double, _ condition: () -> Bool) throws {
        let deadline = Deadline.after(seconds: seconds)
        while !condition() {
            if deadline.hasPassed { throw CommandFailure("timed out waiting until \(what)") }
            usleep(100_000)
        }
    }
}
