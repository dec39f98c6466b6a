import Foundation
import Testing
import TrellisCore
import TrellisSystem

/// `trellis run` as mpiexec: output, input, signals, failures, cleanup.
@Suite(.serialized) struct LauncherJobTests {
    @Test func aKilledRankEndsTheJobWithoutOrphans() throws {
        let outcome = try JobHarness.run([JobHarness.trellis, "run", "-n", "4", JobHarness.conformance, "killed"], timeoutSeconds: 120)
        #expect(outcome.status != 0)
        #expect(outcome.errors.contains("rank 1"), "\(outcome.combined)")
        #expect(outcome.errors.contains("SIGKILL"), "\(outcome.combined)")
        let pids = outcome.output.split(separator: "\n").compactMap { line -> pid_t? in
            let words = line.split(separator: " ")
            return words.count == 4 && words[2] == "pid" ? pid_t(words[3]) : nil
        }
        #expect(pids.count == 4, "\(outcome.combined)")
        for pid in pids { #expect(!JobHarness.isAlive(pid), "rank process \(pid) outlived the job") }
    }

    @Test func ranksDieWithAKilledLauncher() throws {
        var pids: [pid_t] = []
        _ = try JobHarness.run([JobHarness.trellis, "run", "-n", "3", "sh", "-c", "echo pid $$; exec sleep 300"], timeoutSeconds: 60) { child in
            _ = poll(until: .after(seconds: 30)) {
                pids = child.output.split(separator: "\n").compactMap { $0.hasPrefix("pid ") ? pid_t($0.dropFirst(4)) : nil }
                return pids.count == 3
            }
            kill(child.pid, SIGKILL)
        }
        #expect(pids.count == 3)
        // The kernel delivers the parent-death signal as the launcher exits; allow it a moment.
        _ = poll(until: .after(seconds: 10)) { !pids.contains(where: JobHarness.isAlive) }
        for pid in pids { #expect(!JobHarness.isAlive(pid), "rank \(pid) outlived its killed launcher") }
    }

    @Test func aFailingRankReportsItsExitCode() throws {
        let script = "if [ \"$PMI_RANK\" = 1 ]; then exit 3; fi; sleep 60"
        let outcome = try JobHarness.run([JobHarness.trellis, "run", "-n", "3", "--grace-seconds", "2", "sh", "-c", script], timeoutSeconds: 60)
        #expect(outcome.status == 3, "\(outcome.combined)")
        #expect(outcome.errors.contains("rank 1"), "\(outcome.combined)")
        #expect(outcome.errors.contains("exited with code 3"), "\(outcome.combined)")
    }

    @Test func outputIsTaggedAndStdinGoesToRankZero() throws {
        let tagged = try JobHarness.run([JobHarness.trellis, "run", "-n", "3", "--tag-output", "sh", "-c", "echo hello $PMI_RANK"])
        #expect(tagged.status == 0)
        for rank in 0..<3 { #expect(tagged.output.contains("[\(rank)] hello \(rank)\n"), "\(tagged.combined)") }
        let echoed = try JobHarness.run([JobHarness.trellis, "run", "-n", "2", "sh", "-c", "cat; echo end-$PMI_RANK"], input: "from-stdin\n")
        #expect(echoed.status == 0)
        #expect(echoed.output.components(separatedBy: "from-stdin").count == 2, "stdin reached exactly one rank: \(echoed.combined)")
        #expect(echoed.output.contains("end-0") && echoed.output.contains("end-1"))
    }

    @Test func terminationReachesEveryRank() throws {
        let script = "trap 'echo term-$PMI_RANK; exit 0' TERM; echo ready-$PMI_RANK; while true; do sleep 0.05; done"
        let outcome = try JobHarness.run([JobHarness.trellis, "run", "-n", "3", "sh", "-c", script], timeoutSeconds: 60) { child in
            // Signal once every rank has set its trap.
            _ = poll(until: .after(seconds: 30)) { (0..<3).allSatisfy { child.output.contains("ready-\($0)") } }
            kill(child.pid, SIGTERM)
        }
        #expect(outcome.status != 0)
        for rank in 0..<3 { #expect(outcome.output.contains("term-\(rank)"), "\(outcome.combined)") }
    }

    @Test func aMissingProgramIsAClearError() throws {
        let outcome = try JobHarness.run([JobHarness.trellis, "run", "-n", "2", "/no/such/program"])
        #expect(outcome.status != 0)
        #expect(outcome.errors.contains("/no/such/program"), "\(outcome.combined)")
    }

    @Test func theDemoRuns() throws {
        let outcome = try JobHarness.run([JobHarness.trellis, "demo", "-n", "4"])
        #expect(outcome.status == 0, "\(outcome.combined)")
        #expect(outcome.output.contains("demo finished"), "\(outcome.combined)")
        #expect(outcome.output.contains("carrying 6 (expected 6)"), "\(outcome.combined)")
    }
}
