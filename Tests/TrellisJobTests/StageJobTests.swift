import Foundation
import NIOCore
import Testing
import TrellisCore
import TrellisFSClient
import TrellisLauncher
import TrellisSystem

/// A tree with what `trellis stage` must keep: modes, exact mtimes, an
/// empty directory, a symlink, a hard link, an empty file, a file of
/// several chunks, and a name with a space.
private func makeSourceTree(at root: String, bigBytes: Int) throws {
    let manager = FileManager.default
    try manager.createDirectory(atPath: root + "/sub/empty", withIntermediateDirectories: true)
    try manager.createDirectory(atPath: root + "/locked", withIntermediateDirectories: true)
    try "hello\n".write(toFile: root + "/a file", atomically: false, encoding: .utf8)
    try Data().write(to: URL(fileURLWithPath: root + "/sub/empty-file"))
    try "inside\n".write(toFile: root + "/locked/inner", atomically: false, encoding: .utf8)
    var generator = SeededGenerator(seed: 7)
    try Data((0..<bigBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: URL(fileURLWithPath: root + "/sub/big"))
    #expect(link(root + "/a file", root + "/sub/hard") == 0)
    #expect(symlink("../a file", root + "/sub/soft") == 0)
    chmod(root + "/a file", 0o640)
    chmod(root + "/sub/big", 0o751)
    var times = [timespec(tv_sec: 1_500_000_000, tv_nsec: 123_456_789), timespec(tv_sec: 1_500_000_000, tv_nsec: 123_456_789)]
    utimensat(AT_FDCWD, root + "/sub/big", &times, 0)
    utimensat(AT_FDCWD, root + "/sub/soft", &times, AT_SYMLINK_NOFOLLOW)
    utimensat(AT_FDCWD, root + "/sub/empty", &times, 0)
    chmod(root + "/locked", 0o555)
}

/// Every entry under `root` with its kind, mode, size, mtime, link text and
/// link count, and every file's SHA-256: equal listings mean equal trees.
/// (Directory sizes are left out: they depend on the file system, tmpfs or ext4.)
let treeListingScript = "cd \"$1\" && find . -mindepth 1 \\( -type d -printf '%y %m %T@ %n %p\\n' \\) -o -printf '%y %m %s %T@ %n %p -> %l\\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r sha256sum"

/// The lines only one of two listings has, for a failure's message.
func treeDifferences(_ expected: String, _ actual: String) -> String {
    let (left, right) = (Set(expected.split(separator: "\n")), Set(actual.split(separator: "\n")))
    return "missing: \(left.subtracting(right).sorted())\nextra: \(right.subtracting(left).sorted())"
}

/// `trellis stage` with hosts forked on this machine (`--launcher fork`,
/// `%h` giving each its own folder), inside `trellis run`, and alone.
/// Over real ssh to hosts with their own disks in `StageNamespaceJobTests`.
@Suite(.serialized) struct StageJobTests {
    private let folder = NSTemporaryDirectory() + "trellis-stage-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    private func listing(_ path: String) throws -> String {
        let outcome = try JobHarness.run(["sh", "-c", treeListingScript, "listing", path])
        #expect(outcome.status == 0, "\(outcome.combined)")
        return outcome.output
    }

    @Test func everyForkedHostGetsTheTreeExactlyAndAloneOrInsideRunToo() throws {
        defer { _ = try? JobHarness.run(["sh", "-c", "chmod -R u+w '\(folder)'; rm -rf '\(folder)'"]) }
        try makeSourceTree(at: folder + "/src", bigBytes: 9 << 20 | 12345)
        let source = try listing(folder + "/src")
        let over = try JobHarness.run(
            [JobHarness.trellis, "stage", "--launcher", "fork", "--hosts", "n[1-3]", "--preserve", "--verify", "--chunk-bytes", "1048576",
             folder + "/src", "--to", folder + "/out-%h"], timeoutSeconds: 120)
        #expect(over.status == 0, "\(over.combined)")
        #expect(over.output.contains("trellis stage: staged 5 files (9.01 MiB) to 3 of 3 hosts"), "\(over.combined)")
        for host in ["n1", "n2", "n3"] {
            let copy = try listing(folder + "/out-\(host)/src")
            #expect(copy == source, "\(host): \(treeDifferences(source, copy))")
        }
        let leftovers = try JobHarness.run(["sh", "-c", "find '\(folder)' -name '.trellis-stage-*'"])
        #expect(leftovers.output.isEmpty, "temporary files left: \(leftovers.output)")

        // Inside a job of two ranks per host: the first rank of each host writes, with --compress on the wire.
        let inside = try JobHarness.run(
            [JobHarness.trellis, "run", "--launcher", "fork", "--hosts", "m1:2,m2:2", "-n", "4", JobHarness.tools, "stage", "--compress",
             "--preserve", folder + "/src/", "--to", folder + "/in-%h"], timeoutSeconds: 120)
        #expect(inside.status == 0 && inside.output.contains("to 2 of 2 hosts"), "\(inside.combined)")
        for host in ["m1", "m2"] {
            let copy = try listing(folder + "/in-\(host)")
            #expect(copy == source, "\(host): \(treeDifferences(source, copy))")
        }

        // Alone, for this host; without --preserve, modes less the umask and fresh times, as cp gives.
        let alone = try JobHarness.run([JobHarness.trellis, "stage", folder + "/src/sub/big", "--to", folder + "/alone"])
        #expect(alone.status == 0 && alone.output.contains("to 1 of 1 host"), "\(alone.combined)")
        var info = stat()
        let mask = umask(0)
        umask(mask)
        #expect(stat(folder + "/alone/big", &info) == 0 && info.st_mode & 0o777 == 0o751 & ~mask && info.st_mtim.tv_sec > 1_600_000_000)
    }

    @Test func aFullDiskFailsTheStageEverywhereAndLosesNothing() throws {
        guard geteuid() == 0 else { return }  // mounting a small tmpfs needs root
        defer { _ = try? JobHarness.run(["sh", "-c", "umount '\(folder)/out-f2' 2>/dev/null; chmod -R u+w '\(folder)'; rm -rf '\(folder)'"]) }
        try makeSourceTree(at: folder + "/src", bigBytes: 3 << 20)
        for host in ["f1", "f2", "f3"] { try FileManager.default.createDirectory(atPath: folder + "/out-\(host)/src", withIntermediateDirectories: true) }
        #expect(try JobHarness.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", folder + "/out-f2"]).status == 0)
        try FileManager.default.createDirectory(atPath: folder + "/out-f2/src", withIntermediateDirectories: true)
        // A file that was there before keeps its old contents when the stage fails.
        try "old\n".write(toFile: folder + "/out-f1/src/a file", atomically: false, encoding: .utf8)
        let full = try JobHarness.run(
            [JobHarness.trellis, "stage", "--launcher", "fork", "--hosts", "f[1-3]", folder + "/src", "--to", folder + "/out-%h", "--json"],
            timeoutSeconds: 120)
        #expect(full.status == 1, "\(full.combined)")
        let report = try JSONSerialization.jsonObject(with: Data(full.output.utf8)) as? [String: Any]
        let hosts = (report?["hosts"] as? [[String: Any]] ?? []).filter { $0["status"] as? String != "source" }
        #expect(hosts.map { $0["host"] as? String } == ["f1", "f2", "f3"], "\(full.output)")
        #expect(hosts.map { $0["status"] as? String } == ["removed", "failed", "removed"], "\(full.output)")
        #expect((hosts[1]["error"] as? String)?.contains("cannot write \(folder)/out-f2/src/sub/big: No space left on device") == true, "\(full.output)")
        #expect(try String(contentsOfFile: folder + "/out-f1/src/a file", encoding: .utf8) == "old\n")
        let left = try JobHarness.run(["sh", "-c", "cd '\(folder)' && find out-* | sort"])
        #expect(left.output == "out-f1\nout-f1/src\nout-f1/src/a file\nout-f2\nout-f2/src\nout-f3\nout-f3/src\n", "\(left.output)")

        // --keep-partial: the hosts that could write keep the whole tree; the full one only whole files.
        let kept = try JobHarness.run(
            [JobHarness.trellis, "stage", "--launcher", "fork", "--hosts", "f[1-3]", "--keep-partial", folder + "/src", "--to", folder + "/out-%h"],
            timeoutSeconds: 120)
        #expect(kept.status == 1 && kept.errors.contains("f2: cannot write"), "\(kept.combined)")
        #expect(FileManager.default.fileExists(atPath: folder + "/out-f3/src/sub/big"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/out-f2/src/sub/big"))
        #expect(FileManager.default.fileExists(atPath: folder + "/out-f2/src/a file"))
    }

    @Test func anArchivesContentsArriveAsTarWouldUnpackThemAndNothingOutsideTheDestination() throws {
        defer { _ = try? JobHarness.run(["sh", "-c", "chmod -R u+w '\(folder)'; rm -rf '\(folder)'"]) }
        try makeSourceTree(at: folder + "/src", bigBytes: 5 << 20)
        let source = try listing(folder + "/src")
        // pax keeps times to the nanosecond (the default GNU format keeps seconds).
        for (archive, flags) in [("tree.tar", "--format=pax -cf"), ("tree.tar.gz", "--format=pax -czf"), ("tree.tar.zst", "--format=pax --zstd -cf")] {
            #expect(try JobHarness.run(["sh", "-c", "cd '\(folder)/src' && tar \(flags) ../\(archive) ."]).status == 0, "\(archive)")
            let staged = try JobHarness.run(
                [JobHarness.trellis, "stage", "--launcher", "fork", "--hosts", "t[1-2]", "--preserve", "tar:" + folder + "/" + archive, "--to", folder + "/\(archive)-%h"])
            #expect(staged.status == 0 && staged.output.contains("to 2 of 2 hosts"), "\(archive): \(staged.combined)")
            for host in ["t1", "t2"] {
                let copy = try listing(folder + "/\(archive)-\(host)")
                #expect(copy == source, "\(archive) on \(host): \(treeDifferences(source, copy))")
            }
        }
        // A member that climbs out of the destination refuses the whole stage; an absolute one lands inside, as tar puts it.
        // (GNU tar strips a leading ../ when it writes; Python's tarfile keeps it, as a hostile archive would.)
        let climbing = "import tarfile, io; t = tarfile.open('\(folder)/climb.tar', 'w'); i = tarfile.TarInfo('../escape'); i.size = 4; t.addfile(i, io.BytesIO(b'out\\n')); t.close()"
        #expect(try JobHarness.run(["python3", "-c", climbing]).status == 0)
        let climb = try JobHarness.run([JobHarness.trellis, "stage", "tar:" + folder + "/climb.tar", "--to", folder + "/climbed"])
        #expect(climb.status == 1 && climb.errors.contains("the member ../escape would land outside the destination"), "\(climb.combined)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/climbed") && !FileManager.default.fileExists(atPath: folder + "/escape"))
        let missing = try JobHarness.run([JobHarness.trellis, "stage", "tar:" + folder + "/none.tar", "--to", folder + "/none"])
        #expect(missing.status == 1 && missing.errors.contains("cannot read the archive \(folder)/none.tar"), "\(missing.combined)")
    }

    @Test func aTreeInATrellisFileSystemArrivesWithItsLinksAndModes() throws {
        let fixture = try FileSystemFixture(servers: 2)
        defer { _ = try? JobHarness.run(["rm", "-rf", folder]) }
        let fs = try fixture.client()
        try fs.makeDirectories("/tree/sub/empty")
        let data = ByteBuffer(bytes: (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        _ = try fs.createFile("/tree/sub/data", mode: 0o640)
        #expect(try fs.write("/tree/sub/data", data, at: 0) == data.readableBytes)
        _ = try fs.link("/tree/again", to: "/tree/sub/data")
        _ = try fs.symlink("/tree/soft", to: "sub/data")
        fs.close()
        let staged = try JobHarness.run(
            [JobHarness.trellis, "stage", "--fs-name", fixture.name, "--launcher", "fork", "--hosts", "s[1-2]", "--preserve", "--verify",
             "fs:/tree", "--to", folder + "/%h"], environment: fixture.environment)
        #expect(staged.status == 0 && staged.output.contains("staged 2 files (293 KiB) to 2 of 2 hosts"), "\(staged.combined)")
        for host in ["s1", "s2"] {
            let root = folder + "/\(host)/tree"
            #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/sub/data")) == Data(data.readableBytesView), "\(host)")
            var first = stat(), second = stat()
            #expect(stat(root + "/sub/data", &first) == 0 && stat(root + "/again", &second) == 0 && first.st_ino == second.st_ino && first.st_mode & 0o777 == 0o640)
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/soft") == "sub/data")
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: root + "/sub/empty", isDirectory: &isDirectory) && isDirectory.boolValue)
        }
        let absent = try JobHarness.run([JobHarness.trellis, "stage", "--fs-name", fixture.name, "fs:/nothing", "--to", folder + "/n"], environment: fixture.environment)
        #expect(absent.status == 1 && absent.errors.contains("cannot read the source fs:/nothing"), "\(absent.combined)")
    }

    @Test func badInvocationsAreClearErrors() throws {
        let missing = try JobHarness.run([JobHarness.trellis, "stage", "/nonexistent/source", "--to", folder + "/x"])
        #expect(missing.status == 1 && missing.errors.contains("nothing staged: ") && missing.errors.contains("cannot read the source /nonexistent/source: No such file"),
                "\(missing.combined)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/x"))
        let noDestination = try JobHarness.run([JobHarness.trellis, "stage", "/etc/hostname"])
        #expect(noDestination.status != 0 && noDestination.errors.contains("--to"), "\(noDestination.combined)")
        let twice = try JobHarness.run([JobHarness.trellis, "stage", "/etc/hostname", "/etc/hostname", "--to", folder + "/x"])
        #expect(twice.status == 1 && twice.errors.contains("two sources both arrive as hostname"), "\(twice.combined)")
    }
}

/// `trellis stage` over real ssh to namespace hosts, each with its own
/// node-local folder: every host's copy is checked through that host; a
/// killed rank and a cut link are named, and the survivors take back what
/// they wrote. They need root and network namespaces; elsewhere they skip.
@Suite(.serialized, .enabled(if: TestHosts.unavailable == nil, "\(TestHosts.unavailable ?? "")"))
struct StageNamespaceJobTests {
    private let folder = NSTemporaryDirectory() + "trellis-stage-ns-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    private func stage(_ cluster: TestHosts, _ arguments: [String], whileRunning: ((CommandRunner.Child) -> Void)? = nil) throws -> JobHarness.Outcome {
        try cluster.runAsUser(
            on: 0, [JobHarness.trellis, "stage", "--ssh", "ssh -F \(cluster.sshConfig)"] + arguments, timeoutSeconds: 240, whileRunning: whileRunning)
    }

    private func listing(_ cluster: TestHosts, on host: Int, _ path: String) throws -> String {
        try cluster.run(on: host, ["sh", "-c", treeListingScript, "listing", path]).output
    }

    /// What the stage left in the node-local folder of each host.
    private func contents(_ cluster: TestHosts, _ path: String) throws -> [String] {
        try cluster.hosts.indices.map { try cluster.run(on: $0, ["sh", "-c", "find \(path) 2>/dev/null | sort"]).output }
    }

    @Test func fourHostsGetTheTreeOnTheirOwnDisks() throws {
        let cluster = try TestHosts(count: 4)
        defer { cluster.tearDown() }
        defer { _ = try? JobHarness.run(["sh", "-c", "chmod -R u+w '\(folder)'; rm -rf '\(folder)'"]) }
        try makeSourceTree(at: folder + "/src", bigBytes: 20 << 20)
        let source = try JobHarness.run(["sh", "-c", treeListingScript, "listing", folder + "/src"]).output
        let destination = cluster.localFolder + "/staged"
        // From the first host to the three others (the first is a destination too when listed).
        let staged = try stage(cluster, ["--hosts", "\(cluster.name)-h[1-3]", "--preserve", "--verify", folder + "/src", "--to", destination])
        #expect(staged.status == 0 && staged.output.contains("to 3 of 3 hosts"), "\(staged.combined)")
        for host in 1...3 {
            let copy = try listing(cluster, on: host, destination + "/src")
            #expect(copy == source, "\(cluster.hosts[host].name): \(treeDifferences(source, copy))")
        }
        #expect(try contents(cluster, destination)[0].isEmpty, "the source host is not a destination here")
        let all = try stage(cluster, ["--hosts", "\(cluster.name)-h[0-3]", "--fanout", "2", folder + "/src/", "--to", destination + "/again"])
        #expect(all.status == 0 && all.output.contains("to 4 of 4 hosts"), "\(all.combined)")
        for host in 0...3 { #expect(try cluster.run(on: host, ["cmp", folder + "/src/sub/big", destination + "/again/sub/big"]).status == 0) }
        #expect(cluster.processesLeft().isEmpty)
    }

    /// `trellis sync` over ssh: each host's own disk made identical to the
    /// source, so exactly that rsync -a over ssh from the source host finds nothing to do.
    @Test func syncMakesEveryHostsDiskIdenticalForRsyncOverSsh() throws {
        let cluster = try TestHosts(count: 3)
        defer { cluster.tearDown() }
        defer { _ = try? JobHarness.run(["sh", "-c", "chmod -R u+w '\(folder)'; rm -rf '\(folder)'"]) }
        try makeSourceTree(at: folder + "/src", bigBytes: 3 << 20)
        let destination = cluster.localFolder + "/synced"
        #expect(try cluster.ssh(from: 0, to: 2, "mkdir -p \(destination) && echo stale > \(destination)/stale").status == 0)
        let synced = try cluster.runAsUser(
            on: 0, [JobHarness.trellis, "sync", "--ssh", "ssh -F \(cluster.sshConfig)", "--hosts", "\(cluster.name)-h[1-2]", "--delete", folder + "/src", "--to", destination],
            timeoutSeconds: 240)
        #expect(synced.status == 0 && synced.output.contains("synced 2 of 2 hosts"), "\(synced.combined)")
        for host in 1...2 {
            let rsync = try cluster.run(on: 0, [
                "rsync", "-a", "--delete", "--dry-run", "--itemize-changes", "-e", "ssh -F \(cluster.sshConfig)", folder + "/src/", "\(cluster.hosts[host].name):\(destination)/",
            ])
            #expect(rsync.status == 0 && rsync.output.isEmpty, "rsync would still change on \(cluster.hosts[host].name): \(rsync.combined)")
        }
        #expect(try cluster.run(on: 0, ["ls", destination]).status != 0, "the source host is not a destination here")
        #expect(cluster.processesLeft().isEmpty)
    }

    @Test func aKilledRankAndACutLinkAreNamedAndTheSurvivorsTakeBackWhatTheyWrote() throws {
        let cluster = try TestHosts(count: 4)
        defer { cluster.tearDown() }
        defer { _ = try? JobHarness.run(["rm", "-rf", folder]) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        #expect(try JobHarness.run(["sh", "-c", "head -c 600000000 /dev/zero > \(folder)/large && echo small > \(folder)/small"]).status == 0)
        let destination = cluster.localFolder + "/staged"
        let victim = cluster.hosts[2].name
        /// Waits until the victim has begun writing the large file under `path`, then does `harm` to it.
        func whenWriting(_ path: String, _ harm: @escaping () -> Void) -> (CommandRunner.Child) -> Void {
            { _ in
                _ = poll(until: .after(seconds: 120), intervalMicroseconds: 50_000) {
                    (try? cluster.run(on: 2, ["sh", "-c", "find \(path) -name '.trellis-stage-*' -size +0 | grep -q ."]))?.status == 0
                }
                harm()
            }
        }

        let killed = try stage(cluster, ["--hosts", "\(cluster.name)-h[0-3]", folder + "/large", folder + "/small", "--to", destination], whileRunning: whenWriting(destination) {
            _ = try? cluster.run(on: 2, ["sh", "-c", "ip netns pids \(victim) | xargs -r ps -o pid=,args= -p | grep 'stage --events' | awk '{print $1}' | xargs -r kill -9"])
        })
        #expect(killed.status == 1, "\(killed.combined)")
        #expect(killed.errors.contains("\(victim): stopped answering during the stage; what it wrote may remain in \(destination)"), "\(killed.combined)")
        #expect(killed.errors.contains("failed on \(victim); the others removed what they wrote"), "\(killed.combined)")
        let afterKill = try contents(cluster, destination)
        for host in [0, 1, 3] { #expect(afterKill[host].isEmpty, "\(cluster.hosts[host].name) kept \(afterKill[host])") }

        let cut = try stage(
            cluster, ["--hosts", "\(cluster.name)-h[0-3]", "--link-timeout", "3", folder + "/large", "--to", destination + "/cut"],
            whileRunning: whenWriting(destination + "/cut") { _ = try? CommandRunner.run(["ip", "-n", victim, "link", "set", "eth0", "down"], timeoutSeconds: 30) })
        _ = try JobHarness.run(["ip", "-n", victim, "link", "set", "eth0", "up"])
        #expect(cut.status == 1, "\(cut.combined)")
        #expect(cut.errors.contains("lost host \(victim)") && cut.errors.contains("\(victim): stopped answering during the stage"), "\(cut.combined)")
        let afterCut = try contents(cluster, destination + "/cut")
        for host in [0, 1, 3] { #expect(afterCut[host].isEmpty, "\(cluster.hosts[host].name) kept \(afterCut[host])") }
        _ = poll(until: .after(seconds: 20), intervalMicroseconds: 200_000) { cluster.processesLeft().isEmpty }
        #expect(cluster.processesLeft().isEmpty)
    }
}
