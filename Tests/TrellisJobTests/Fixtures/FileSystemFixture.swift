import Foundation
import NIOCore
import Testing
import TrellisCore
import TrellisFSClient
import TrellisFSDistribution
import TrellisFSServer
import TrellisNames
import TrellisServices
import TrellisFSProtocol
import TrellisRuntime
import TrellisSystem

/// A file system of `servers` real `trellis server` processes on loopback,
/// with its own name service and storage under a temporary folder; all of
/// it stopped and removed when the fixture goes.
final class FileSystemFixture: @unchecked Sendable {
    let names: NameServiceFixture
    let folder = NSTemporaryDirectory() + "trellis-fs-\(UUID().uuidString)"
    let name: String
    let serverCount: Int
    private var system: LocalFileSystem?
    var serverPIDs: [pid_t] { system?.serverPIDs ?? [] }

    private var mounts: [String] = []

    /// `storageBytes` puts each server's storage on a tmpfs of that size,
    /// `storageBytesOfServer` some servers' storage only (root only);
    /// `keyFile` is the cluster key the servers hold (`TRELLIS_KEY_FILE`);
    /// `adjusting` changes the configuration before the servers start
    /// (security settings, hosts), and `serverEnvironment` adds to theirs.
    init(
        servers: Int = 4, stripSizeBytes: Int = 4096, storageBytes: Int? = nil, storageBytesOfServer: [Int: Int] = [:],
        precreateBatch: Int = FileSystemConfiguration.defaultPrecreateBatch, replicas: Int = 1, dataReplicas: [Int] = [], keyFile: String? = nil,
        serverEnvironment: [String: String] = [:], adjusting: ((inout FileSystemConfiguration) -> Void)? = nil
    ) throws {
        names = try NameServiceFixture(keyFile: keyFile)
        name = "test\(getpid())x\(Int.random(in: 0..<1_000_000))"
        serverCount = servers
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let tmpfsBytes = storageBytes.map { bytes in Dictionary(uniqueKeysWithValues: (0..<servers).map { ($0, bytes) }) } ?? storageBytesOfServer
        for (index, bytes) in tmpfsBytes.sorted(by: { $0.key < $1.key }) {
            let storage = "\(folder)/server\(index)"
            try FileManager.default.createDirectory(atPath: storage, withIntermediateDirectories: true)
            let mount = try JobHarness.run(["/bin/mount", "-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", storage], timeoutSeconds: 30)
            guard mount.status == 0 else { throw FixtureFailure(description: "mounting a tmpfs needs root: \(mount.combined)") }
            mounts.append(storage)
        }
        var configuration = try LocalFileSystem.prepare(
            name: name, servers: servers, folder: folder, stripSizeBytes: UInt64(stripSizeBytes), precreateBatch: precreateBatch, replicas: replicas, dataReplicas: dataReplicas)
        if let adjusting {
            adjusting(&configuration)
            try configuration.toml().write(toFile: LocalFileSystem.configPath(in: folder), atomically: true, encoding: .utf8)
        }
        self.configuration = configuration
        var environment = ProcessEnvironment.current()
        environment.merge(names.environment) { _, new in new }
        environment["TRELLIS_KEY_FILE"] = keyFile
        environment.merge(serverEnvironment) { _, new in new }
        system = try LocalFileSystem(configuration: configuration, folder: folder, executable: JobHarness.trellis, environment: environment)
    }

    let configuration: FileSystemConfiguration
    var configPath: String { LocalFileSystem.configPath(in: folder) }
    var environment: [String: String] { names.environment }

    func startServer(_ index: Int) throws { try system?.startServer(index) }

    func killServer(_ index: Int) { system?.killServer(index) }

    /// SIGTERM, as systemd or `trellis up` stop a server; its exit status.
    func stopServer(_ index: Int) -> Int32? { system?.stopServer(index) }

    /// The last lines of each server's log, to name what went wrong in a failure.
    func logTails(lines: Int = 20) -> String {
        (0..<serverCount).map { index in
            let log = system.flatMap { try? String(contentsOfFile: $0.logPath(ofServer: index), encoding: .utf8) } ?? ""
            return "server \(index) log:\n" + log.split(separator: "\n").suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// A client in this process, reaching the servers through the fixture's name service.
    func client(timeoutSeconds: Double = 60) throws -> FileSystemClient {
        for (key, value) in names.environment { setenv(key, value, 1) }
        return try FileSystemClient.connect(name: name, timeoutSeconds: timeoutSeconds)
    }

    deinit {
        system?.stop()
        for mount in mounts { _ = try? JobHarness.run(["/bin/umount", mount], timeoutSeconds: 30) }
        // The client() call pointed this process at the fixture's name service; later tests must not inherit that.
        for key in names.environment.keys { unsetenv(key) }
        keepLogs()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Copies each server's whole log into the folder `TRELLIS_TEST_LOGS`
    /// names, when it names one: a failure seen once in many runs needs more
    /// than the tails a test prints.
    private func keepLogs() {
        guard let kept = ProcessInfo.processInfo.environment["TRELLIS_TEST_LOGS"], let system else { return }
        try? FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: true)
        for index in 0..<serverCount {
            try? FileManager.default.copyItem(atPath: system.logPath(ofServer: index), toPath: "\(kept)/\(name)-server-\(index).log")
        }
    }
}

extension FileSystemFixture {
    /// Server `server`'s Prometheus metrics, from the address it published.
    func scrapeMetrics(of server: Int) throws -> [MetricSample] {
        let lookup = NameServiceClient(address: names.address, timeoutSeconds: 5)
        let answer = try lookup.call(NameRequest(.lookup, service: "trellis-fs/\(name)/\(server)/metrics"))
        let address = try #require(answer.port, "server \(server) published no metrics address")
        return try MetricsScrape.fetch(address)
    }
}

extension [MetricSample] {
    /// The sum of the samples named `name` whose labels include `labels`.
    func total(_ name: String, _ labels: [String: String] = [:]) -> Double {
        filter { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }.map(\.value).reduce(0, +)
    }
}
