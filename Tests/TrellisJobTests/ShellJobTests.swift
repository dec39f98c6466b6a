import Foundation
import Testing
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis shell` over hosts forked on this machine (`--launcher fork`;
/// each rank knows its host's name): scripts with @nodesets, a directory
/// and an environment set once, stage, sync and run lines, a real MPICH
/// program, stopping at the first failure, Ctrl-C, and a PBS batch script.
@Suite(.serialized) struct ShellJobTests {
    private let folder = NSTemporaryDirectory() + "trellis-shell-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    private func shell(_ arguments: [String], input: String? = nil, whileRunning: ((CommandRunner.Child) -> Void)? = nil) throws -> JobHarness.Outcome {
        try JobHarness.run([JobHarness.trellis, "shell", "--launcher", "fork"] + arguments, input: input, timeoutSeconds: 180, whileRunning: whileRunning)
    }

    private func script(_ text: String, named name: String = "script.tsh") throws -> String {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try text.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
        return folder + "/" + name
    }

    @Test func aScriptRunsItsLinesOnEveryHostOrANodesetAndStopsAtTheFirstFailure() throws {
        defer { _ = try? JobHarness.run(["rm", "-rf", folder]) }
        try FileManager.default.createDirectory(atPath: folder + "/source/inner", withIntermediateDirectories: true)
        try "staged\n".write(toFile: folder + "/source/inner/file", atomically: true, encoding: .utf8)
        let path = try script("""
            # set once, for every line after
            export GREETING='hello there'
            cd \(folder)
            echo "$GREETING from $TRELLIS_HOST_NAME in $(pwd)"
            @h[2-3] echo only on $TRELLIS_HOST_NAME
            stage source --to out-%h
            sync source --to synced-%h
            run -n 3 sh -c 'echo "rank $PMI_RANK of $PMI_SIZE"'
            set +e
            @h2 exit 3
            set -e
            [ -f out-h1/source/inner/file ] && [ -f synced-h3/inner/file ]
            false
            echo never
            """)
        let outcome = try shell(["--hosts", "h[1-3]", path])
        #expect(outcome.status == 1, "\(outcome.combined)")
        for host in ["h1", "h2", "h3"] { #expect(outcome.output.contains("hello there from \(host) in \(folder)\n"), "\(outcome.combined)") }
        #expect(outcome.output.contains("h[2-3] (2)\n---------------\nonly on h2\n") || outcome.output.contains("only on h2\n"), "\(outcome.combined)")
        #expect(!outcome.output.contains("only on h1"), "\(outcome.combined)")
        #expect(outcome.output.contains("trellis stage: staged 1 file (7 B) to 3 of 3 hosts"), "\(outcome.combined)")
        #expect(outcome.output.contains("trellis sync: synced 3 of 3 hosts"), "\(outcome.combined)")
        for rank in 0..<3 { #expect(outcome.output.contains("rank \(rank) of 3\n"), "\(outcome.combined)") }
        #expect(outcome.output.contains("h2 (1) exited 3"), "\(outcome.combined)")
        #expect(outcome.errors.contains("line 13 failed (exit 1): false"), "\(outcome.combined)")
        #expect(!outcome.output.contains("never"), "\(outcome.combined)")
        for host in ["h1", "h2", "h3"] {
            #expect(FileManager.default.fileExists(atPath: "\(folder)/out-\(host)/source/inner/file"))
            #expect(FileManager.default.fileExists(atPath: "\(folder)/synced-\(host)/inner/file"))
        }

        // --json: one object per line, each host's output and exit code in it.
        let json = try shell(["--hosts", "j[1-2]", "--json"], input: "echo out-$TRELLIS_HOST_NAME\n@j2 exit 4\n")
        #expect(json.status == 4, "\(json.combined)")
        let records = json.output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(records.map { $0["exitCode"] as? Int } == [0, 4], "\(json.output)")
        let first = records.first?["hosts"] as? [[String: Any]] ?? []
        #expect(first.map { $0["output"] as? String } == ["out-j1\n", "out-j2\n"], "\(json.output)")

        // Lines from stdin when no script is named; a line naming hosts outside the shell is an error, not a crash.
        let piped = try shell(["--hosts", "p1,p2"], input: "echo piped\n@p9 true\necho not-reached\n")
        #expect(piped.status == 2 && piped.output.contains("p[1-2] (2)\n---------------\npiped\n"), "\(piped.combined)")
        #expect(piped.errors.contains("line 2: not hosts of this shell: p9") && !piped.output.contains("not-reached"), "\(piped.combined)")
    }

    /// On a terminal (a pseudo-terminal here), as clush's interactive mode:
    /// a prompt, each line run on every host before the next is read, a
    /// failing line reported without ending the shell, and Ctrl-D (end of
    /// input) ending it with the worst code it saw.
    @Test func onATerminalItPromptsRunsEachLineAndEndsAtCtrlD() throws {
        // unlockpt and ptsname as the kernel offers them (TIOCSPTLCK, TIOCGPTN; Linux's
        // generic ioctl numbers, which C's macros build and Swift does not import).
        let (lockRequest, numberRequest): (UInt, UInt) = (0x4004_5431, 0x8004_5430)
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        var unlock: Int32 = 0
        var number: UInt32 = 0
        #expect(master >= 0 && ioctl(master, lockRequest, &unlock) == 0 && ioctl(master, numberRequest, &number) == 0)
        defer { close(master) }
        let terminal = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        #expect(terminal >= 0)
        let pid = try ProcessSpawner.spawn(
            arguments: [JobHarness.trellis, "shell", "--launcher", "fork", "--hosts", "t[1-2]"], environment: ProcessEnvironment.current(),
            descriptors: ChildDescriptors(standardInput: terminal, standardOutput: terminal, standardError: terminal), processGroup: 0)
        close(terminal)
        var ended = false
        defer {
            if !ended {
                killpg(pid, SIGKILL)
                _ = ProcessSpawner.waitForExit(pid)
            }
        }
        var screen = ""
        /// Reads what the shell writes until `text` has appeared `times` times (or 60 s pass).
        func waitFor(_ text: String, times: Int = 1) -> Bool {
            let deadline = Deadline.after(seconds: 60)
            while screen.components(separatedBy: text).count <= times && !deadline.hasPassed {
                var entry = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                guard poll(&entry, 1, 200) > 0 else { continue }
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = read(master, &chunk, chunk.count)
                guard count > 0 else { break }
                screen += String(decoding: chunk[..<count], as: UTF8.self)
            }
            return screen.components(separatedBy: text).count > times
        }
        #expect(waitFor("trellis shell> "), "\(screen)")
        _ = writeAll(master, Array("echo first-$TRELLIS_HOST_NAME\n".utf8))
        #expect(waitFor("trellis shell> ", times: 2), "\(screen)")
        // The line ran on both hosts before the second prompt came.
        let beforeSecond = screen.components(separatedBy: "trellis shell> ").dropLast().joined()
        for host in ["t1", "t2"] {
            #expect(beforeSecond.replacingOccurrences(of: "\r", with: "").contains("\(host) (1)\n---------------\nfirst-\(host)\n"), "\(screen)")
        }
        _ = writeAll(master, Array("@t2 echo only-here; exit 3\n".utf8))
        #expect(waitFor("trellis shell> ", times: 3), "\(screen)")
        // Typed lines echo back; the host's output comes in its block (the terminal ends lines with CR LF).
        #expect(screen.replacingOccurrences(of: "\r", with: "").contains("t2 (1) exited 3\n---------------\nonly-here\n"), "\(screen)")
        _ = writeAll(master, [4])  // Ctrl-D
        var status: Int32 = 0
        ended = poll(until: .after(seconds: 30)) { waitpid(pid, &status, WNOHANG) == pid }
        // A failing line leaves the prompt up; the shell ends with the worst code it saw.
        #expect(ended && (status >> 8) & 0xff == 3, "\(screen)")
    }

    @Test func ctrlCReachesTheCommandOnEveryHostAndStopsTheScript() throws {
        defer { _ = try? JobHarness.run(["rm", "-rf", folder]) }
        let path = try script("""
            trap 'echo interrupted on $TRELLIS_HOST_NAME; exit 130' INT; touch \(folder)/ready-$TRELLIS_HOST_NAME; while true; do sleep 0.05; done
            echo after
            """)
        let outcome = try shell(["--hosts", "i[1-2]", path]) { child in
            _ = poll(until: .after(seconds: 60)) {
                ["i1", "i2"].allSatisfy { FileManager.default.fileExists(atPath: "\(self.folder)/ready-\($0)") }
            }
            kill(child.pid, SIGINT)
        }
        #expect(outcome.status == 130, "\(outcome.combined)")
        for host in ["i1", "i2"] { #expect(outcome.output.contains("interrupted on \(host)"), "\(outcome.combined)") }
        #expect(!outcome.output.contains("after") && outcome.errors.contains("interrupted at line 1"), "\(outcome.combined)")
        let left = try JobHarness.run(["sh", "-c", "ps -eo args= | grep -F '\(folder)/ready' | grep -v grep || true"]).output
        #expect(left.isEmpty, "left running: \(left)")
    }

    @Test func anMPICHProgramRunsFromAScriptAndAPBSBatchScriptRunsUnchanged() throws {
        defer { _ = try? JobHarness.run(["rm", "-rf", folder]) }
        let ring = try PMIClientJobTests.build(PMIClientJobTests.mpiRing, named: "ring", compiler: ["mpicc.mpich"])
        defer { try? FileManager.default.removeItem(atPath: (ring as NSString).deletingLastPathComponent) }
        let path = try script("run -n 4 \(ring)\n")
        let ran = try shell(["--hosts", "m[1-2]", path])
        #expect(ran.status == 0 && ran.output.contains("mpich ring: size 4 sum 6 token 6"), "\(ran.combined)")

        let batch = try script("""
            #!/bin/sh
            #PBS -N ringjob
            #PBS -l nodes=2:ppn=2,walltime=00:05:00
            #PBS -j oe
            cd $PBS_O_WORKDIR
            echo "job $PBS_JOBNAME np $PBS_NP nodes $PBS_NUM_NODES ppn $PBS_NUM_PPN in $(pwd)"
            cat $PBS_NODEFILE
            mpiexec -n $PBS_NP \(ring)
            """, named: "ring.pbs")
        let pbs = try JobHarness.run([JobHarness.trellis, "shell", "--pbs", "--launcher", "fork", "--hosts", "q[1-3]", batch], timeoutSeconds: 180)
        #expect(pbs.status == 0, "\(pbs.combined)")
        #expect(pbs.output.contains("job ringjob np 4 nodes 2 ppn 2 in \(FileManager.default.currentDirectoryPath)\n"), "\(pbs.combined)")
        #expect(pbs.output.contains("q1\nq1\nq2\nq2\n"), "\(pbs.combined)")
        #expect(pbs.output.contains("mpich ring: size 4 sum 6 token 6"), "\(pbs.combined)")
        let tooMany = try script("#PBS -l nodes=5\ntrue\n", named: "big.pbs")
        let refused = try JobHarness.run([JobHarness.trellis, "shell", "--pbs", "--launcher", "fork", "--hosts", "q[1-3]", tooMany])
        #expect(refused.status != 0 && refused.errors.contains("asks for 5 nodes"), "\(refused.combined)")
    }
}
