import Foundation
import Testing
import TrellisCore
import TrellisFUSE
import TrellisLauncher
import TrellisSystem

/// A FUSE mount of a fixture's file system by a real `trellis mount`
/// process; unmounted (lazily, so a test that failed half-way cannot leave
/// it busy) and its process ended when the fixture goes.
final class MountFixture: @unchecked Sendable {
    let fileSystem: FileSystemFixture
    let point: String
    let log: String
    private(set) var pid: pid_t = 0

    init(_ fileSystem: FileSystemFixture, options: [String] = [], arguments: [String] = []) throws {
        self.fileSystem = fileSystem
        point = fileSystem.folder + "/mnt"
        log = fileSystem.folder + "/mount.log"
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        var environment = ProcessEnvironment.current()
        environment.merge(fileSystem.environment) { _, new in new }
        pid = try ProcessSpawner.spawn(
            arguments: [JobHarness.trellis, "mount", fileSystem.name, point, "--foreground"] + options.flatMap { ["-o", $0] } + arguments,
            environment: environment, logPath: log)
        guard poll(until: .after(seconds: 60), intervalMicroseconds: 50_000, { MountTable.isTrellisMount(point) || !JobHarness.isAlive(pid) }),
            MountTable.isTrellisMount(point)
        else {
            throw FixtureFailure(description: "the mount did not start: \(logText)")
        }
    }

    var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Runs a bash script with `dir` as its working folder.
    func shell(_ script: String, in dir: String, timeoutSeconds: Double = 300) throws -> JobHarness.Outcome {
        try JobHarness.run(["/bin/bash", "-c", "set -euo pipefail; cd \"$1\"; " + script, "script", dir], timeoutSeconds: timeoutSeconds)
    }

    /// SIGTERM, as a service manager stops the mount; its exit status.
    func stop() -> Int32 {
        guard pid > 0 else { return 0 }
        kill(pid, SIGTERM)
        defer { pid = 0 }
        return ProcessSpawner.waitForExit(pid)
    }

    deinit {
        if MountTable.isTrellisMount(point) { _ = try? JobHarness.run([JobHarness.trellis, "umount", "--lazy", point], timeoutSeconds: 30) }
        if pid > 0 {
            kill(pid, SIGTERM)
            _ = ProcessSpawner.waitForExit(pid)
        }
    }
}
