import Foundation
import Testing
import TrellisCore

/// `trellis exec` over hosts whose proxies are forked on this machine
/// (`--launcher fork`): folded output, per-host exit codes, timeouts,
/// live lines and JSON. Over real ssh and separate hosts in `NamespaceHostsJobTests`.
@Suite(.serialized) struct ExecJobTests {
    private func exec(_ arguments: [String]) throws -> JobHarness.Outcome {
        try JobHarness.run([JobHarness.trellis, "exec", "--launcher", "fork"] + arguments, timeoutSeconds: 120)
    }

    @Test func hostsWithTheSameOutputAreFoldedAndTheLargestExitCodeWins() throws {
        let outcome = try exec(["--hosts", "n[1-4]", "--", "echo same; [ $PMI_RANK = 2 ] && echo odd && exit 3; true"])
        #expect(outcome.status == 3, "\(outcome.combined)")
        #expect(outcome.output == """
            ---------------
            n[1-2,4] (3)
            ---------------
            same
            ---------------
            n3 (1) exited 3
            ---------------
            same
            odd

            """, "\(outcome.combined)")
        #expect(outcome.errors.contains("trellis exec: 3 of 4 hosts exited 0, 1 failed (n3)"), "\(outcome.combined)")
        let clean = try exec(["--hosts", "n[1-3]", "true"])
        #expect(clean.status == 0 && clean.output == "---------------\nn[1-3] (3)\n---------------\n" && clean.errors.isEmpty, "\(clean.combined)")
    }

    @Test func aHostPastTheTimeoutIsStoppedAndNamedWhileTheOthersFinish() throws {
        let outcome = try exec(["--hosts", "t[1-3]", "--timeout", "2", "--", "[ $PMI_RANK = 1 ] && exec sleep 61.25; echo done"])
        #expect(outcome.status == 124, "\(outcome.combined)")
        #expect(outcome.output.contains("t[1,3] (2)\n---------------\ndone\n"), "\(outcome.combined)")
        #expect(outcome.errors.contains("trellis exec: timed out after 2 s: t2 (1)"), "\(outcome.combined)")
        let left = try JobHarness.run(["sh", "-c", "ps -eo args= | grep -x 'sleep 61.25' || true"]).output
        #expect(left.isEmpty, "left running: \(left)")
    }

    @Test func liveLinesCarryTheirHostAndJsonGivesEveryHost() throws {
        let live = try exec(["--hosts", "w[1-2]", "--live", "--", "echo one; echo two >&2"])
        #expect(live.status == 0, "\(live.combined)")
        for host in ["w1", "w2"] {
            #expect(live.output.contains("\(host): one\n") && live.errors.contains("\(host): two\n"), "\(live.combined)")
        }
        let json = try exec(["--hosts", "j[1-3]", "--json", "--", "echo r$PMI_RANK; exit $PMI_RANK"])
        #expect(json.status == 2, "\(json.combined)")
        let report = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        let hosts = report?["hosts"] as? [[String: Any]] ?? []
        #expect(hosts.map { $0["host"] as? String } == ["j1", "j2", "j3"], "\(json.output)")
        #expect(hosts.map { $0["exitCode"] as? Int } == [0, 1, 2], "\(json.output)")
        #expect(hosts.map { $0["output"] as? String } == ["r0\n", "r1\n", "r2\n"], "\(json.output)")
        #expect(report?["exitCode"] as? Int == 2)
    }

    @Test func badInvocationsAreClearErrors() throws {
        // Without hosts, this host alone.
        let here = try JobHarness.run([JobHarness.trellis, "exec", "echo", "on", "this", "host"])
        #expect(here.status == 0 && here.output.hasSuffix("(1)\n---------------\non this host\n"), "\(here.combined)")
        let noCommand = try exec(["--hosts", "a,b"])
        #expect(noCommand.status != 0 && noCommand.errors.contains("name a command"), "\(noCommand.combined)")
        let badList = try exec(["--hosts", "n[1-", "true"])
        #expect(badList.status != 0 && badList.errors.contains("n[1-"), "\(badList.combined)")
    }
}
