import Glibc
import Foundation
import TrellisCore
import TrellisFSServer
import TrellisFUSE
import TrellisNames
import TrellisSystem

/// A file system that a bench starts in a folder of its own, as `trellis
/// up` would (`LocalFileSystem`), and stops when it is done with it. The
/// name service is whichever answers at TRELLIS_NAME_SERVICE. With a mount
/// point, it is also mounted there (`trellis mount --foreground`).
public final class TemporaryFileSystem {
    /// The file system's name, which clients connect by.
    public let name: String
    /// The folder that holds its data and its mount's log.
    public let folder: String
    private let system: LocalFileSystem
    private var mount: pid_t?

    /// Its servers' processes.
    public var serverPIDs: [pid_t] { system.serverPIDs }

    /// `executable` is the `trellis` program that runs the servers and the mount.
    public init(
        name: String, servers: Int, folder: String, executable: String, precreateBatch: Int = FileSystemConfiguration.defaultPrecreateBatch,
        replicas: Int = 1, mountPoint: String? = nil, mountOptions: [String] = [], authentication: FileSystemConfiguration.Authentication = .key
    ) throws {
        self.name = name
        self.folder = folder
        let data = folder + "/fs"
        let configuration = try LocalFileSystem.prepare(
            name: name, servers: servers, folder: data, precreateBatch: precreateBatch, replicas: replicas, authentication: authentication)
        system = try LocalFileSystem(configuration: configuration, folder: data, executable: executable)
        guard let mountPoint else { return }
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let log = folder + "/mount.log"
        let pid = try ProcessSpawner.spawn(
            arguments: [executable, "mount", name, mountPoint, "--foreground"] + mountOptions.flatMap { ["-o", $0] },
            environment: ProcessEnvironment.current(), logPath: log)
        mount = pid
        guard poll(until: .after(seconds: 60), intervalMicroseconds: 100_000, { MountTable.isTrellisMount(mountPoint) || !isRunning(pid) }),
              MountTable.isTrellisMount(mountPoint)
        else {
            if !isRunning(pid) { mount = nil }
            stop()
            throw BenchmarkFailure("file system \(name) could not be mounted on \(mountPoint): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    /// How it was made.
    public var configuration: FileSystemConfiguration { system.configuration }

    /// SIGKILL to server `index`, as a crash would.
    public func killServer(_ index: Int) { system.killServer(index) }

    /// Starts server `index` again after `killServer`.
    public func startServer(_ index: Int) throws { try system.startServer(index) }

    /// Unmounts it (when mounted) and stops its servers; blocks until they have exited.
    public func stop() {
        if let mount {
            kill(mount, SIGTERM)
            _ = ProcessSpawner.waitForExit(mount)
            self.mount = nil
        }
        system.stop()
    }

    /// Points this process at a name service of its own on a free loopback port.
    static func useOwnNameService() {
        setenv("TRELLIS_NAME_SERVICE", "127.0.0.1:\(freeLocalPort() ?? 27_117)", 1)
        setenv("TRELLIS_NAMES_AUTOSTART", "0", 1)
    }
}

/// Whether `pid`, a child of this process, has not exited (reaping it if it has).
private func isRunning(_ pid: pid_t) -> Bool {
    var status: Int32 = 0
    return waitpid(pid, &status, WNOHANG) == 0
}

/// A name service a bench runs for the whole of its run, so that the file
/// systems it starts and stops one after another all use the same one.
public final class BenchNameService {
    /// The name service's process.
    public let pid: pid_t
    /// Where it listens (host:port).
    public let address: String

    /// Points this process at a free loopback port (`TRELLIS_NAME_SERVICE`,
    /// autostart off) and starts `trellis names start` there, logging to
    /// `names.log` in `folder`. Blocks until it answers; throws `BenchmarkFailure`
    /// when it does not within 30 seconds.
    public init(folder: String, executable: String) throws {
        TemporaryFileSystem.useOwnNameService()
        let address = ProcessEnvironment.current()["TRELLIS_NAME_SERVICE"]!
        self.address = address
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        pid = try ProcessSpawner.spawn(
            arguments: [executable, "names", "start", "--address", address] + NameServiceSetup.startFlags(environment: ProcessEnvironment.current()),
            environment: ProcessEnvironment.current(),
            logPath: folder + "/names.log")
        guard poll(until: .after(seconds: 30), intervalMicroseconds: 100_000, {
            (try? NameServiceClient(address: address, timeoutSeconds: 1).call(NameRequest(.status))) != nil
        }) else {
            stop()
            throw BenchmarkFailure("the name service at \(address) did not answer; see \(folder)/names.log")
        }
    }

    /// Stops the name service (SIGTERM) and waits for it to exit.
    public func stop() {
        kill(pid, SIGTERM)
        _ = ProcessSpawner.waitForExit(pid)
    }
}
