import Glibc
import ArgumentParser
import Foundation
import Synchronization
import TrellisCore
import TrellisFSProtocol
import TrellisFSServer
import TrellisFUSE
import TrellisNames
import TrellisRunCommand
import TrellisRuntime
import TrellisSystem

/// `trellis up`: a whole local file system in one command — the name
/// service (unless one already answers) and N servers with their storage
/// under one folder — stopped cleanly on Ctrl-C or SIGTERM.
struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start a local file system: the name service and N servers, with all data under one folder.",
        discussion: """
            The first run writes DATA/fs.toml and prepares each server's folder; later runs reuse them, so files \
            survive. Clients on this host reach the file system by its name. Ctrl-C stops everything. \
            Its processes prove a cluster key to each other: the one TRELLIS_KEY_FILE names, else \
            ~/.config/trellis/cluster.key (made on the first run when there is none) or /etc/trellis/cluster.key; \
            clients of this user find it there too. --insecure runs without one.
            """)

    @Option(help: "Servers to run (each holds metadata and data).") var servers = 4
    @Option(help: "Folder for the configuration and every server's storage.") var data = "trellis-data"
    @Option(help: "The file system's name.") var name = "trellis"
    @Option(help: "Default strip size of new files, in bytes.") var stripSizeBytes: UInt64 = 65_536
    @Option(help: "Datafiles each server keeps made ahead on every other server (0: none), on the first run.")
    var precreateBatch = FileSystemConfiguration.defaultPrecreateBatch
    @Option(help: "Copies of every object, each on another server (1 to 3), on the first run; 2 or more acknowledge a change once every copy holds it.")
    var replicas = 1
    @Option(
        name: .customLong("data-replicas"),
        help: "Other copy counts a directory may choose for its files' bytes (trellis fs layout set --replicas N), comma-separated, on the first run.")
    var dataReplicas: String?
    @Option(help: "Also mount the file system on this directory through FUSE (made if missing), until it stops.") var mount: String?
    @Option(name: .customLong("mount-option"), help: "A -o option for --mount (repeatable).") var mountOptions: [String] = []
    @Option(help: "Run one server per host on these hosts (node set: node[01-16], a,b,c) instead of --servers on this one; DATA is on each host's own disk.")
    var hosts: String?
    @Option(help: "With --hosts: how servers start on the hosts (ssh, slurm or fork, as trellis run's --launcher).") var launcher = "ssh"
    @Option(help: "With --hosts: the ssh command and its options, as one string.") var ssh = "ssh"
    @Option(help: "With --hosts: the name service's port on the first host.") var namesPort = NameServiceLocation.defaultPort
    @Option(help: "With --hosts: hosts besides the servers' whose root stays root on the file system (node set), such as an admin node that runs fsck; root elsewhere is nobody.")
    var trustedRootHosts: String?
    @Option(help: "Write this file (JSON: name, servers, data, mount, pid) once everything serves, and remove it when stopping: the readiness signal for scripts.")
    var readyFile: String?
    @Flag(help: "On the first run: serve without authentication (auth = \"none\"), anyone who reaches a port; clients must run with TRELLIS_AUTH=none.")
    var insecure = false

    static let pidFile = "up.pid"

    /// "1,3" as copy counts.
    static func counts(_ list: String) throws -> [Int] {
        try list.split(separator: ",").map { part in
            guard let count = Int(part.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--data-replicas: \(part) is not a copy count") }
            return count
        }
    }

    /// Records this `up` in its data folder, for `trellis down`.
    static func writePID(in folder: String) throws {
        try "\(getpid())\n".write(toFile: folder + "/" + pidFile, atomically: true, encoding: .utf8)
    }

    func run() throws {
        TrellisCommand.bootstrapLogging()
        if hosts != nil {
            try runOverHosts()
            return
        }
        guard servers >= 1, servers <= 256 else { throw ValidationError("--servers must be 1 to 256") }
        let folder = URL(fileURLWithPath: data).standardizedFileURL.path
        let configPath = LocalFileSystem.configPath(in: folder)
        let configuration: FileSystemConfiguration
        let keyBefore = ClusterKey.locate(environment: ProcessEnvironment.current())
        do {
            configuration = try LocalFileSystem.prepare(
                name: name, servers: servers, folder: folder, stripSizeBytes: stripSizeBytes, precreateBatch: precreateBatch, replicas: replicas,
                dataReplicas: try dataReplicas.map(Self.counts) ?? [], authentication: insecure ? .none : .key)
        } catch let error as FSError where error.code == .invalidArgument {
            throw CommandFailure("\(error.message); use its --servers, --name, --replicas and --data-replicas, or another --data")
        }
        if keyBefore == nil, configuration.authentication == .key, let made = ClusterKey.locate(environment: ProcessEnvironment.current()) {
            print("made a cluster key at \(made) (mode 0400): copy it to the hosts of this file system's clients, or name another with TRELLIS_KEY_FILE")
        }
        try Self.writePID(in: folder)
        defer { unlink(folder + "/" + Self.pidFile) }
        let me = currentExecutablePath()
        var environment = ProcessEnvironment.current()
        let address = try NameServiceLocation.resolve(environment: environment).address
        environment["TRELLIS_NAME_SERVICE"] = address
        environment["TRELLIS_NAMES_AUTOSTART"] = "0"
        if configuration.authentication == .none { environment["TRELLIS_AUTH"] = "none" }

        let children = ChildProcesses()
        var mountProcess: pid_t?
        let namesAuthentication = NameServiceSetup.authentication(environment: environment)
        if (try? NameServiceClient(address: address, timeoutSeconds: 1, authentication: namesAuthentication).call(NameRequest(.status))) == nil {
            let log = folder + "/names.log"
            try children.start(
                "name service", [me, "names", "start", "--address", address] + NameServiceSetup.startFlags(environment: environment), environment: environment, log: log)
            guard poll(until: .after(seconds: 30), intervalMicroseconds: 100_000, {
                (try? NameServiceClient(address: address, timeoutSeconds: 1, authentication: namesAuthentication).call(NameRequest(.status))) != nil
            }) else { throw CommandFailure("the name service at \(address) did not answer; see \(folder)/names.log") }
        }
        for index in 0..<configuration.servers.count {
            let log = folder + "/server\(index).log"
            try children.start(
                "server \(index)", LocalFileSystem.serverArguments(executable: me, configPath: configPath, index: index), environment: environment, log: log)
        }
        do {
            try LocalFileSystem.waitUntilServing(configuration, environment: environment, seconds: 60, logs: folder)
        } catch let error as FSError {
            throw CommandFailure(error.message)
        }
        print("file system '\(name)' is up: \(configuration.servers.count) servers, data in \(folder), name service \(address)")
        if let mount {
            let point = URL(fileURLWithPath: mount).standardizedFileURL.path
            try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
            let log = folder + "/mount.log"
            let arguments = [me, "mount", name, point, "--foreground"] + mountOptions.flatMap { ["-o", $0] }
            mountProcess = try children.start("the mount on \(point)", arguments, environment: environment, log: log)
            guard poll(until: .after(seconds: 60), intervalMicroseconds: 100_000, { MountTable.isTrellisMount(point) }) else {
                throw CommandFailure("the mount on \(point) did not start; see \(log)")
            }
            print("mounted on \(point): ordinary programs work there (`trellis umount \(point)` or Ctrl-C ends the mount)")
        }
        print("clients reach it by the name \(name) (FileSystemClient.connect(name:)); Ctrl-C stops it")
        fflush(nil)
        if let readyFile {
            let ready = ReadyRecord(name: name, servers: configuration.servers.count, data: folder, mount: mount.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, pid: getpid())
            try writeReadyFile(ready, to: readyFile)
        }
        defer { if let readyFile { unlink(readyFile) } }
        try children.waitForStop { child, _ in
            guard child.pid == mountProcess else { throw CommandFailure("\(child.what) exited unexpectedly; see \(child.log)") }
            // Unmounted by the user: the file system goes on.
            print("\(child.what) ended; the file system stays up")
            fflush(nil)
        }
        print("stopping file system '\(name)'")
    }
}

/// What `trellis up --ready-file` writes once the file system serves.
struct ReadyRecord: Codable {
    var name: String
    var servers: Int
    var data: String
    var mount: String?
    var pid: Int32
}

/// Writes `record` as JSON under a temporary name and renames it, so a reader never sees half of it.
func writeReadyFile(_ record: ReadyRecord, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    try encoder.encode(record).write(to: URL(fileURLWithPath: path), options: .atomic)
}
