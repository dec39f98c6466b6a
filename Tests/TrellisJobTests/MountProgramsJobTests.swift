import Foundation
import Testing
import TrellisCore
import TrellisLauncher

/// Heavier programs on a real FUSE mount of a 4-server file system:
/// bonnie++, an MPICH MPI-IO program, and a file of several GiB.
@Suite(.serialized) struct MountProgramsJobTests {
    /// bonnie++'s block I/O, rewrite, seeks and file creation phases all
    /// complete on the mount and leave nothing behind.
    @Test func bonnieRunsToTheEnd() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture)
        // -f skips the per-character phases; -s must be twice -r; -n 1 is 1,024 files in the creation phases.
        let bonnie = try mount.shell(
            "mkdir bonnie; bonnie++ -d bonnie -s 128 -r 64 -n 1 -f -u 0:0 -q 2>bonnie.err; cat bonnie.err >&2; rm bonnie.err; ls -A bonnie | wc -l",
            in: mount.point, timeoutSeconds: 900)
        #expect(bonnie.status == 0, "\(bonnie.combined)\n\(mount.logText)")
        let lines = bonnie.output.split(separator: "\n")
        // The CSV line: format version, bonnie version, host, ... then the rates of each phase.
        let csv = lines.first { $0.split(separator: ",").count > 20 }
        #expect(csv != nil, "bonnie++ printed its results: \(bonnie.combined)")
        #expect(lines.last == "0", "bonnie++ removed its files: \(bonnie.combined)")
        #expect(!bonnie.combined.contains("Can't"), "\(bonnie.combined)")
    }

    /// An MPI-IO program built with MPICH's mpicc: 4 ranks write disjoint
    /// blocks of one shared file on the mount, read them back and check them.
    @Test func mpiIoProgramWritesAndReadsASharedFile() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture)
        let source = fixture.folder + "/mpi-io.c"
        let program = fixture.folder + "/mpi-io"
        try MpiIoProgram.source.write(toFile: source, atomically: true, encoding: .utf8)
        let compile = try JobHarness.run(["mpicc.mpich", "-O1", "-o", program, source], timeoutSeconds: 300)
        #expect(compile.status == 0, "\(compile.combined)")
        let file = mount.point + "/shared/blocks"
        try FileManager.default.createDirectory(atPath: mount.point + "/shared", withIntermediateDirectories: false)
        // MPICH 4.0 can hang in MPI_Finalize, spinning in UCX's progress (seen with UCX_TLS=tcp; bench compare
        // guards its runs the same way). Rank 0 prints its line only after every check passed on every rank,
        // so a run stopped after that line passed.
        let run = try CommandRunner.run(["mpiexec.mpich", "-n", "4", program, file], environment: ProcessInfo.processInfo.environment, timeoutSeconds: 120)
        let size = 6 * 4 * (256 * 1024 + 17)
        #expect(run.output.contains("mpi-io ok \(size)"), "\(run.combined)\n\(mount.logText)")
        #expect(run.status == 0 || run.timedOut, "\(run.combined)")
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.size] as? Int) == size)
    }

    /// A file of several GiB, sparse but for blocks across the 2 GiB and
    /// 4 GiB marks and at its end: size, holes and data match a local copy
    /// made the same way, read whole.
    @Test func aFileOfSeveralGiB() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65536)
        let mount = try MountFixture(fixture)
        let local = fixture.folder + "/local"
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        let make = """
            truncate -s 5G big
            dd if="$PATTERN" of=big bs=1M seek=2047 count=2 conv=notrunc status=none
            dd if="$PATTERN" of=big bs=1M seek=4095 count=2 conv=notrunc status=none
            dd if="$PATTERN" of=big bs=1M seek=5119 count=1 conv=notrunc status=none
            printf tail >> big
            stat -c %s big
            """
        let pattern = fixture.folder + "/pattern"
        let patternMade = try JobHarness.run(["/bin/bash", "-c", "head -c 2097152 /dev/urandom > \(pattern)"])
        #expect(patternMade.status == 0)
        for place in [local, mount.point] {
            let made = try JobHarness.run(["/bin/bash", "-c", "set -euo pipefail; cd \"$1\"; " + make, "script", place], environment: ["PATTERN": pattern])
            #expect(made.status == 0 && made.output == "5368709124\n", "in \(place): \(made.combined)\n\(mount.logText)")
        }
        let compare = try mount.shell("cmp big \(local)/big && tail -c 4 big", in: mount.point, timeoutSeconds: 900)
        #expect(compare.status == 0 && compare.output == "tail", "\(compare.combined)\n\(mount.logText)")
    }
}
