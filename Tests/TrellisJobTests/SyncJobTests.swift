import Foundation
import Testing
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis sync` with hosts forked on this machine (`--launcher fork`,
/// `%h` giving each its own folder): hosts that start from different
/// states all end identical to the source, exactly enough that rsync -a
/// finds nothing to do; only the hosts that lack a file get its bytes.
@Suite(.serialized) struct SyncJobTests {
    private let folder = NSTemporaryDirectory() + "trellis-sync-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    private func sync(_ arguments: [String]) throws -> JobHarness.Outcome {
        try JobHarness.run([JobHarness.trellis, "sync", "--launcher", "fork"] + arguments, timeoutSeconds: 180)
    }

    private func listing(_ path: String) throws -> String {
        try JobHarness.run(["sh", "-c", treeListingScript, "listing", path]).output
    }

    private func report(_ outcome: JobHarness.Outcome) -> [String: [String: Any]] {
        let object = try? JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any]
        var hosts: [String: [String: Any]] = [:]
        for host in object?["hosts"] as? [[String: Any]] ?? [] { hosts[host["host"] as? String ?? ""] = host }
        hosts["total"] = object
        return hosts
    }

    private func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    private func makeSource() throws -> String {
        let source = folder + "/src"
        try write("alpha\n", to: source + "/a")
        try write(String(repeating: "b", count: 300_000), to: source + "/dir/b")
        try write("cee\n", to: source + "/dir/deeper/c")
        try FileManager.default.createDirectory(atPath: source + "/empty", withIntermediateDirectories: true)
        #expect(link(source + "/a", source + "/dir/a-again") == 0)
        #expect(symlink("../a", source + "/dir/to-a") == 0)
        chmod(source + "/dir/deeper/c", 0o600)
        chmod(source + "/dir", 0o750)
        var times = [timespec(tv_sec: 1_600_000_000, tv_nsec: 5), timespec(tv_sec: 1_600_000_000, tv_nsec: 5)]
        utimensat(AT_FDCWD, source + "/dir/b", &times, 0)
        utimensat(AT_FDCWD, source + "/dir/to-a", &times, AT_SYMLINK_NOFOLLOW)
        utimensat(AT_FDCWD, source + "/dir", &times, 0)
        utimensat(AT_FDCWD, source, &times, 0)
        return source
    }

    @Test func hostsFromDifferentStatesEndIdenticalAndRsyncFindsNothingToDo() throws {
        defer { _ = try? JobHarness.run(["rm", "-rf", folder]) }
        let source = try makeSource()
        let expected = try listing(source)
        // n1 has nothing; n2 an older copy with a changed file, a wrong mode, a file where a directory goes and an extra; n3 a full copy.
        #expect(try JobHarness.run(["cp", "-a", source, folder + "/out-n2"]).status == 0)
        try write("changed\n", to: folder + "/out-n2/dir/deeper/c")
        chmod(folder + "/out-n2/a", 0o666)
        _ = try JobHarness.run(["rm", "-rf", folder + "/out-n2/empty"])
        try write("in the way\n", to: folder + "/out-n2/empty")
        try write("extra\n", to: folder + "/out-n2/dir/extra")
        #expect(try JobHarness.run(["cp", "-a", source, folder + "/out-n3"]).status == 0)

        let first = try sync(["--hosts", "n[1-3]", "--delete", "--json", source, "--to", folder + "/out-%h"])
        #expect(first.status == 0, "\(first.combined)")
        let hosts = report(first)
        #expect(hosts["n1"]?["received"] as? Int == 3, "\(first.output)")
        #expect(hosts["n2"]?["received"] as? Int == 1 && hosts["n2"]?["deleted"] as? Int == 1, "\(first.output)")
        #expect(hosts["n3"]?["received"] as? Int == 0, "\(first.output)")
        for host in ["n1", "n2", "n3"] {
            let copy = try listing(folder + "/out-\(host)")
            #expect(copy == expected, "\(host): \(treeDifferences(expected, copy))")
            let rsync = try JobHarness.run(["rsync", "-a", "--delete", "--dry-run", "--itemize-changes", source + "/", folder + "/out-\(host)/"])
            #expect(rsync.status == 0 && rsync.output.isEmpty, "rsync -a would still change on \(host): \(rsync.combined)")
        }

        // Nothing to do: nothing sent.
        let again = try sync(["--hosts", "n[1-3]", "--json", source, "--to", folder + "/out-%h"])
        #expect(again.status == 0 && report(again)["total"]?["bytesSent"] as? Int == 0, "\(again.output)")

        // --dry-run says what would change where, and changes nothing.
        try write("new\n", to: source + "/dir/new")
        let dry = try sync(["--hosts", "n[1-3]", "--dry-run", source, "--to", folder + "/out-%h"])
        #expect(dry.status == 0, "\(dry.combined)")
        #expect(dry.output.contains("n[1-3] (3): 2 changes\n  metadata dir\n  create dir/new\n"), "\(dry.output)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/out-n1/dir/new"))
    }

    @Test func checksumsFindWhatSizeAndTimeMissAndXattrsTravelWithX() throws {
        defer { _ = try? JobHarness.run(["rm", "-rf", folder]) }
        let source = try makeSource()
        #expect(try sync(["--hosts", "c1", source, "--to", folder + "/out-%h"]).status == 0)
        // Same size, same time, other bytes: only --checksum sees it.
        try write("ALPHA\n", to: folder + "/out-c1/a")
        #expect(try JobHarness.run(["touch", "-r", source + "/a", folder + "/out-c1/a"]).status == 0)
        #expect(try sync(["--hosts", "c1", source, "--to", folder + "/out-%h"]).status == 0)
        #expect(try String(contentsOfFile: folder + "/out-c1/a", encoding: .utf8) == "ALPHA\n")
        let checked = try sync(["--hosts", "c1", "--checksum", "--json", source, "--to", folder + "/out-%h"])
        #expect(checked.status == 0 && report(checked)["c1"]?["received"] as? Int == 1, "\(checked.combined)")
        #expect(try String(contentsOfFile: folder + "/out-c1/a", encoding: .utf8) == "alpha\n")

        guard try JobHarness.run(["setfattr", "-n", "user.trellis", "-v", "kept", source + "/dir/b"]).status == 0 else { return }  // no user xattrs here
        try? FileManager.default.removeItem(atPath: folder + "/out-c1")
        #expect(try sync(["--hosts", "c1", "-X", source, "--to", folder + "/out-%h"]).status == 0)
        let value = try JobHarness.run(["getfattr", "--only-values", "-n", "user.trellis", folder + "/out-c1/dir/b"])
        #expect(value.output == "kept", "\(value.combined)")
        let rsync = try JobHarness.run(["rsync", "-aX", "--dry-run", "--itemize-changes", source + "/", folder + "/out-c1/"])
        #expect(rsync.output.isEmpty, "rsync -aX would still change: \(rsync.combined)")
    }

    @Test func anInterruptedSyncResumesWithoutSendingWhatArrived() throws {
        defer { _ = try? JobHarness.run(["rm", "-rf", folder]) }
        let source = folder + "/big"
        #expect(try JobHarness.run(["sh", "-c", "mkdir -p \(source) && for i in $(seq 1 40); do head -c 8000000 /dev/urandom > \(source)/f$i; done"]).status == 0)
        let total = 40 * 8_000_000
        // Stopped once some files are in place on both hosts.
        let stopped = try sync(["--hosts", "r[1-2]", "--batch-bytes", "8000000", "--chunk-bytes", "1048576", source, "--to", folder + "/out-%h"]) { child in
            _ = poll(until: .after(seconds: 120), intervalMicroseconds: 20_000) {
                ["r1", "r2"].allSatisfy { ((try? FileManager.default.contentsOfDirectory(atPath: self.folder + "/out-\($0)")) ?? []).filter { !$0.hasPrefix(".") }.count >= 3 }
            }
            kill(child.pid, SIGTERM)
        }
        #expect(stopped.status != 0, "\(stopped.combined)")
        let resumed = try sync(["--hosts", "r[1-2]", "--json", source, "--to", folder + "/out-%h"])
        #expect(resumed.status == 0, "\(resumed.combined)")
        let sent = report(resumed)["total"]?["bytesSent"] as? Int ?? -1
        #expect(sent >= 0 && sent <= total - 3 * 8_000_000, "sent \(sent) of \(total) again")
        for host in ["r1", "r2"] { #expect(try listing(folder + "/out-\(host)") == listing(source), "\(host)") }
    }

    private func sync(_ arguments: [String], whileRunning: @escaping (CommandRunner.Child) -> Void) throws -> JobHarness.Outcome {
        try JobHarness.run([JobHarness.trellis, "sync", "--launcher", "fork"] + arguments, timeoutSeconds: 180, whileRunning: whileRunning)
    }

    @Test func badInvocationsAreClearErrors() throws {
        let missing = try JobHarness.run([JobHarness.trellis, "sync", "/nonexistent/source", "--to", folder + "/x"])
        #expect(missing.status == 1 && missing.errors.contains("nothing synced: ") && missing.errors.contains("/nonexistent/source is not a directory"), "\(missing.combined)")
        let noDestination = try JobHarness.run([JobHarness.trellis, "sync", "/etc"])
        #expect(noDestination.status != 0 && noDestination.errors.contains("--to"), "\(noDestination.combined)")
    }
}
