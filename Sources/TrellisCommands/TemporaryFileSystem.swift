#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TrellisCore
import TrellisFSServer
import TrellisNames
import TrellisRunCommand

/// A file system that a bench starts with `trellis up` in a folder of its
/// own and stops (as Ctrl-C would) when it is done with it. The name
/// service is whichever answers at TRELLIS_NAME_SERVICE, else the one
/// `up` starts. With a mount point, `up` also mounts it there.
final class TemporaryFileSystem {
    let name: String
    let folder: String
    private let up: pid_t

    init(
        name: String, servers: Int, folder: String, precreateBatch: Int = FileSystemConfiguration.defaultPrecreateBatch, mountPoint: String? = nil,
        mountOptions: [String] = []
    ) throws {
        self.name = name
        self.folder = folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let log = folder + "/up.log"
        unlink(log)
        up = try ProcessSpawner.spawn(
            arguments: [
                currentExecutablePath(), "up", "--servers", String(servers), "--data", folder + "/fs", "--name", name, "--precreate-batch", String(precreateBatch),
            ] + (mountPoint.map { ["--mount", $0] } ?? []) + mountOptions.flatMap { ["--mount-option", $0] },
            environment: ProcessEnvironment.current(), logPath: log)
        let up = self.up
        var exited = false
        let ready = poll(until: .after(seconds: 120), intervalMicroseconds: 100_000) {
            var status: Int32 = 0
            exited = waitpid(up, &status, WNOHANG) == up
            guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return exited }
            return exited || text.contains(mountPoint == nil ? "is up" : "mounted on")
        }
        guard ready, !exited else {
            // An `up` that exited is reaped already: only a live one is stopped.
            if !exited { stop() }
            throw CommandFailure("file system \(name) did not come up: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    func stop() {
        kill(up, SIGINT)
        _ = ProcessSpawner.waitForExit(up)
    }

    /// Points this process at a name service of its own on a free loopback port.
    static func useOwnNameService() {
        setenv("TRELLIS_NAME_SERVICE", "127.0.0.1:\(freeLocalPort() ?? 27_117)", 1)
        setenv("TRELLIS_NAMES_AUTOSTART", "0", 1)
    }
}

/// A name service a bench runs for the whole of its run, so that the file
/// systems it starts and stops one after another all use the same one.
final class BenchNameService {
    private let pid: pid_t

    init(folder: String) throws {
        TemporaryFileSystem.useOwnNameService()
        let address = ProcessEnvironment.current()["TRELLIS_NAME_SERVICE"]!
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        pid = try ProcessSpawner.spawn(
            arguments: [currentExecutablePath(), "names", "start", "--address", address], environment: ProcessEnvironment.current(),
            logPath: folder + "/names.log")
        guard poll(until: .after(seconds: 30), intervalMicroseconds: 100_000, {
            (try? NameServiceClient(address: address, timeoutSeconds: 1).call(NameRequest(.status))) != nil
        }) else {
            stop()
            throw CommandFailure("the name service at \(address) did not answer; see \(folder)/names.log")
        }
    }

    func stop() {
        kill(pid, SIGTERM)
        _ = ProcessSpawner.waitForExit(pid)
    }
}

/// Seconds that `body` took (at least a nanosecond).
func timedSeconds(_ body: () throws -> Void) rethrows -> Double {
    let start = MonotonicClock.nanoseconds()
    try body()
    return max(Double(MonotonicClock.nanoseconds() - start) / 1e9, 1e-9)
}
