import Foundation
import Testing
import TrellisCore
import TrellisSystem

/// Daemons that Trellis starts behave as Unix daemons: they keep nothing of
/// the command that started them but what they are given. A caller's lock
/// or pipe that a daemon kept would stay held, or never reach its end, for
/// as long as the daemon lives.
@Suite struct DaemonJobTests {
    @Test func theNameServiceDaemonHoldsNoneOfItsStartersDescriptors() throws {
        let folder = NSTemporaryDirectory() + "trellis-daemon-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let lock = folder + "/caller.lock"
        let address = "127.0.0.1:\(try freePort())"
        // The starter holds a lock on descriptor 9, opened as a shell opens it (inherited across exec).
        let start = try JobHarness.run(
            ["/bin/sh", "-c", "exec 9>\"$LOCK\" && flock 9 && exec \"$TRELLIS\" names start --daemon --address \"$ADDRESS\" --log \"$LOG\""],
            environment: ["LOCK": lock, "TRELLIS": JobHarness.trellis, "ADDRESS": address, "LOG": folder + "/names.log"], timeoutSeconds: 60)
        #expect(start.status == 0, "\(start.combined)")
        let status = try JobHarness.run([JobHarness.trellis, "names", "status", "--json", "--address", address], timeoutSeconds: 30)
        struct Report: Decodable { var pid: Int32? }
        guard let pid = (try? JSONDecoder().decode(Report.self, from: Data(status.output.utf8)))?.pid else {
            Issue.record("no name service answered at \(address): \(status.combined)")
            return
        }
        defer {
            kill(pid, SIGTERM)
            _ = poll(until: .after(seconds: 10), intervalMicroseconds: 50_000) { !JobHarness.isAlive(pid) }
        }
        let held = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")
        }
        #expect(!held.isEmpty, "the daemon's descriptors could not be read")
        #expect(!held.contains(lock), "the daemon holds the caller's lock file: \(held)")
        // The starter has exited, so no one may hold its lock any more.
        let free = try JobHarness.run(["/usr/bin/flock", "--nonblock", lock, "true"], timeoutSeconds: 30)
        #expect(free.status == 0, "the caller's lock is still held after its command ended")
    }
}
