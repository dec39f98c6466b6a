import Glibc
import Foundation
import TrellisCore
import TrellisFSProtocol
import TrellisNames
import TrellisRuntime
import TrellisSystem

/// A file system whose servers all run on this host, with their storage
/// under one folder: the one way Trellis starts one in code, which `trellis
/// up`, the benchmarks and the test fixtures share. Readiness is a signal of
/// its own: every server's name answers in the name service.
///
/// ```swift
/// let configuration = try LocalFileSystem.prepare(name: "scratch", servers: 4, folder: "/tmp/scratch")
/// let system = try LocalFileSystem(configuration: configuration, folder: "/tmp/scratch", executable: "/usr/local/bin/trellis")
/// defer { system.stop() }
/// let fs = try FileSystemClient.connect(name: "scratch")
/// ```
public final class LocalFileSystem: @unchecked Sendable {
    /// The file system it runs.
    public let configuration: FileSystemConfiguration
    /// Where the configuration, the storage and the logs are.
    public let folder: String
    /// The `trellis` program that runs each server.
    public let executable: String
    /// What the servers are started with (the name service's address among it).
    public let environment: [String: String]
    /// Each server's process (0: not running).
    public private(set) var serverPIDs: [pid_t]

    /// The configuration file.
    public var configPath: String { Self.configPath(in: folder) }
    /// Where `prepare` writes the configuration of a file system in `folder`.
    public static func configPath(in folder: String) -> String { folder + "/fs.toml" }
    /// Server `index`'s log.
    public func logPath(ofServer index: Int) -> String { folder + "/server\(index).log" }

    /// Writes `folder/fs.toml` and makes every server's storage (under
    /// `folder/serverN`) on first use; later, checks that the folder holds
    /// the file system asked for and reuses it, so its files survive.
    /// A file system whose processes authenticate gets a cluster key at the
    /// user's standard place when none is found (`ClusterKey.locateOrMake`).
    public static func prepare(
        name: String, servers: Int, folder: String, stripSizeBytes: UInt64 = 65_536,
        precreateBatch: Int = FileSystemConfiguration.defaultPrecreateBatch, replicas: Int = 1, dataReplicas: [Int] = [],
        authentication: FileSystemConfiguration.Authentication = .key, rootOwner: Credentials = Credentials(uid: getuid(), gid: getgid())
    ) throws -> FileSystemConfiguration {
        let configuration = try prepareFolder(
            name: name, servers: servers, folder: folder, stripSizeBytes: stripSizeBytes, precreateBatch: precreateBatch, replicas: replicas,
            dataReplicas: dataReplicas, authentication: authentication, rootOwner: rootOwner)
        if configuration.authentication == .key {
            do {
                _ = try ClusterKey.locateOrMake(environment: configuration.keySearchEnvironment(ProcessEnvironment.current()))
            } catch let error as TrellisError {
                throw FSError(.invalidArgument, error.message)
            }
        }
        return configuration
    }

    private static func prepareFolder(
        name: String, servers: Int, folder: String, stripSizeBytes: UInt64, precreateBatch: Int, replicas: Int, dataReplicas: [Int],
        authentication: FileSystemConfiguration.Authentication, rootOwner: Credentials
    ) throws -> FileSystemConfiguration {
        let path = configPath(in: folder)
        if FileManager.default.fileExists(atPath: path) {
            let existing = try FileSystemConfiguration.load(path: path)
            guard existing.servers.count == servers, existing.name == name, existing.replicas == replicas, existing.dataReplicas == dataReplicas else {
                throw FSError(
                    .invalidArgument,
                    "\(folder) holds file system '\(existing.name)' with \(existing.servers.count) servers, \(existing.replicas) replicas and data replicas \(existing.dataReplicas), "
                        + "not '\(name)' with \(servers), \(replicas) and \(dataReplicas)")
            }
            return existing
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var configuration = try FileSystemConfiguration(
            name: name, servers: (0..<servers).map { .init(host: "127.0.0.1", storage: "\(folder)/server\($0)") }, stripSizeBytes: stripSizeBytes,
            precreateBatch: precreateBatch, replicas: replicas, dataReplicas: dataReplicas)
        configuration.authentication = authentication
        let now = Timestamp.now()
        for index in 0..<servers { try ServerStorage.make(configuration, server: index, rootOwner: rootOwner, rootTime: now) }
        try configuration.toml().write(toFile: path, atomically: true, encoding: .utf8)
        return configuration
    }

    /// Starts every server (`executable server --config ... --index N`,
    /// each logging to `folder/serverN.log`) and returns once all serve.
    public init(
        configuration: FileSystemConfiguration, folder: String, executable: String,
        environment: [String: String] = ProcessEnvironment.current(), readyWithinSeconds: Double = 60
    ) throws {
        self.configuration = configuration
        self.folder = folder
        self.executable = executable
        self.environment = environment
        serverPIDs = Array(repeating: 0, count: configuration.servers.count)
        do {
            for index in serverPIDs.indices { try startServer(index) }
            try Self.waitUntilServing(configuration, environment: environment, seconds: readyWithinSeconds, logs: folder)
        } catch {
            stop()
            throw error
        }
    }

    /// Starts server `index` (again, after `killServer` or `stopServer`).
    public func startServer(_ index: Int) throws {
        serverPIDs[index] = try ProcessSpawner.spawn(
            arguments: Self.serverArguments(executable: executable, configPath: configPath, index: index), environment: environment,
            logPath: logPath(ofServer: index))
    }

    /// How one server of a prepared file system is started.
    public static func serverArguments(executable: String, configPath: String, index: Int) -> [String] {
        [executable, "server", "--config", configPath, "--index", String(index)]
    }

    /// Kills a server at once (SIGKILL), as a crash would.
    /// Stops one server as its service manager would (SIGTERM), and returns its exit status.
    @discardableResult
    public func stopServer(_ index: Int) -> Int32 {
        guard serverPIDs[index] > 0 else { return 0 }
        kill(serverPIDs[index], SIGTERM)
        let status = ProcessSpawner.waitForExit(serverPIDs[index])
        serverPIDs[index] = 0
        return status
    }

    /// SIGKILL to server `index`, as a crash would; its names go when its leases do.
    public func killServer(_ index: Int) {
        guard serverPIDs[index] > 0 else { return }
        kill(serverPIDs[index], SIGKILL)
        _ = ProcessSpawner.waitForExit(serverPIDs[index])
        serverPIDs[index] = 0
    }

    /// Waits until every server of `configuration` has published its name
    /// in the name service `environment` names; the error names those that have not.
    public static func waitUntilServing(_ configuration: FileSystemConfiguration, environment: [String: String], seconds: Double, logs: String) throws {
        let client = NameServiceClient(
            address: try NameServiceLocation.resolve(environment: environment).address, timeoutSeconds: 2,
            authentication: try PeerAuthentication.fromEnvironment.resolved(environment: environment))
        func serving(_ index: Int) -> Bool {
            (try? client.call(NameRequest(.lookup, service: configuration.serviceName(ofServer: index))))?.ok == true
        }
        let servers = configuration.servers.indices
        guard poll(until: .after(seconds: seconds), intervalMicroseconds: 100_000, { servers.allSatisfy(serving) }) else {
            let missing = servers.filter { !serving($0) }.map(String.init).joined(separator: ", ")
            throw FSError(.serverUnavailable, "servers \(missing) of \(configuration.name) did not publish their names within \(Int(seconds)) s; see their logs in \(logs)")
        }
    }

    /// Stops every server (SIGTERM: each unpublishes and closes its stores), last first.
    public func stop() {
        for index in serverPIDs.indices.reversed() where serverPIDs[index] > 0 {
            kill(serverPIDs[index], SIGTERM)
            _ = ProcessSpawner.waitForExit(serverPIDs[index])
            serverPIDs[index] = 0
        }
    }

    deinit { stop() }
}
