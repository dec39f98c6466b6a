import Foundation
import Testing
import TrellisCore
import TrellisFUSE
import TrellisSystem

/// A mount whose servers go away, and a mount in the background: it
/// retries while a server restarts, fails with EIO (never hangs) when one
/// stays down, and unmounts either way.
@Suite(.serialized) struct MountResilienceJobTests {
    /// A server that stays down: a read that needs it fails with EIO once
    /// the mount's timeout is spent, the mount logs it, and umount works.
    @Test func aDownServerGivesEIOAndUnmountStillWorks() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096)
        let mount = try MountFixture(fixture, options: ["timeout=4", "attr_timeout=0", "entry_timeout=0"])
        let write = try mount.shell("seq 1 100000 > spread; cat spread | wc -l", in: mount.point)
        #expect(write.status == 0 && write.output.contains("100000"), "\(write.combined)")
        fixture.killServer(2)
        let read = try mount.shell("cat spread > /dev/null", in: mount.point, timeoutSeconds: 120)
        #expect(read.status != 0 && !read.timedOut, "\(read.combined)")
        #expect(read.combined.contains("Input/output error"), "\(read.combined)")
        #expect(mount.logText.contains("failed"), "the mount logs what failed: \(mount.logText)")
        let unmount = try JobHarness.run([JobHarness.trellis, "umount", mount.point], timeoutSeconds: 60)
        #expect(unmount.status == 0 && !MountTable.isTrellisMount(mount.point), "\(unmount.combined)")
    }

    /// A server killed and started again 2 s later: reads, writes, creates
    /// and listings that need it wait for it and then succeed.
    @Test func aRestartingServerIsRetriedAndTheWorkSucceeds() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096)
        let mount = try MountFixture(fixture, options: ["attr_timeout=0", "entry_timeout=0"])
        let write = try mount.shell("mkdir before; seq 1 100000 > spread; md5sum < spread", in: mount.point)
        #expect(write.status == 0, "\(write.combined)")
        fixture.killServer(2)
        let restarted = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            usleep(2_000_000)
            try? fixture.startServer(2)
            restarted.signal()
        }
        // Every command needs server 2: the file's strips and the new files' datafiles are on every server.
        let work = try mount.shell("""
            md5sum < spread
            seq 1 50000 > fresh
            for i in 1 2 3 4 5 6 7 8; do echo "$i" > "small$i"; done
            mkdir after
            ls | sort | tr '\\n' ' '
            """, in: mount.point, timeoutSeconds: 120)
        #expect(restarted.wait(timeout: .now() + 60) == .success)
        #expect(work.status == 0, "\(work.combined)\n\(mount.logText)")
        let lines = work.output.split(separator: "\n")
        #expect(lines.first == write.output.split(separator: "\n").last, "the same contents after the restart: \(work.combined)")
        #expect(lines.last == "after before fresh small1 small2 small3 small4 small5 small6 small7 small8 spread ", "\(work.combined)")
        let check = try mount.shell("seq 1 50000 | cmp - fresh && cat small8", in: mount.point)
        #expect(check.status == 0 && check.output == "8\n", "\(check.combined)")
    }

    /// `trellis mount` without --foreground returns once the mount is ready
    /// and keeps serving from the background; `trellis umount` ends it.
    @Test func aBackgroundMountServesUntilUnmounted() throws {
        let fixture = try FileSystemFixture(servers: 2, stripSizeBytes: 65536)
        let point = fixture.folder + "/background"
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: false)
        let log = fixture.folder + "/background.log"
        let mount = try JobHarness.run([JobHarness.trellis, "mount", fixture.name, point, "--log", log], environment: fixture.environment, timeoutSeconds: 120)
        defer { if MountTable.isTrellisMount(point) { _ = try? JobHarness.run([JobHarness.trellis, "umount", "--lazy", point], timeoutSeconds: 30) } }
        #expect(mount.status == 0 && MountTable.isTrellisMount(point), "\(mount.combined)")
        // "mounted NAME on POINT (process PID, log LOG)"
        let pid = mount.output.split(separator: "(process ").last.flatMap { pid_t($0.prefix { $0.isNumber }) }
        #expect(pid != nil && JobHarness.isAlive(pid!), "\(mount.combined)")
        let work = try JobHarness.run(["/bin/bash", "-c", "cd \"$1\" && seq 1 1000 > numbers && wc -l < numbers", "script", point])
        #expect(work.status == 0 && work.output == "1000\n", "\(work.combined)")
        let unmount = try JobHarness.run([JobHarness.trellis, "umount", point], timeoutSeconds: 60)
        #expect(unmount.status == 0 && !MountTable.isTrellisMount(point), "\(unmount.combined)")
        if let pid {
            #expect(poll(until: .after(seconds: 30), intervalMicroseconds: 50_000) { !JobHarness.isAlive(pid) }, "the background mount process ended")
        }
        // What it wrote is in the file system, seen by the native client.
        let fs = try fixture.client()
        defer { fs.close() }
        #expect(try fs.stat("/numbers").size == 3893)
    }
}
