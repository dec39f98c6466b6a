import Testing
import TrellisClusterTools
import TrellisHosts

@Suite struct GatheredOutputTests {
    private func result(_ host: String, _ text: String, _ end: HostResult.End = .exited(code: 0)) -> HostResult {
        HostResult(host: host, output: Array(text.utf8), end: end)
    }

    @Test func hostsWithTheSameOutputAndExitCodeShareOneBlockUnderTheirNodeSet() {
        let gathered = GatheredOutput([
            result("n01", "same\n"), result("n03", "other\n"), result("n02", "same\n"),
            result("n04", "same\n", .exited(code: 3)), result("n05", "same\n"),
        ])
        #expect(gathered.groups.map(\.hosts.folded) == ["n[01-02,05]", "n03", "n04"])
        #expect(gathered.groups.map(\.exitCode) == [0, 0, 3])
        #expect(gathered.exitCode == 3)
        #expect(gathered.text() == """
            ---------------
            n[01-02,05] (3)
            ---------------
            same
            ---------------
            n03 (1)
            ---------------
            other
            ----------------
            n04 (1) exited 3
            ----------------
            same

            """)
        #expect(gathered.summary(hosts: 5) == "4 of 5 hosts exited 0, 1 failed (n04)")
    }

    @Test func timedOutAndUnreachableHostsAreNamedAndSetTheExitCode() {
        let gathered = GatheredOutput([
            result("a1", "ok"), result("a2", "partial\n", .timedOut), result("a3", "", .unreachable(reason: "ssh: connection refused")),
            result("a4", "", .timedOut),
        ])
        #expect(gathered.groups.count == 1 && gathered.groups[0].output == Array("ok".utf8))
        #expect(gathered.text().hasSuffix("ok\n"), "output without a last newline gets one")
        #expect(gathered.timedOut.names == ["a2", "a4"])
        #expect(gathered.exitCode == 255)
        #expect(gathered.problems(timeoutSeconds: 2) == ["timed out after 2 s: a[2,4] (2)", "unreachable: a3: ssh: connection refused"])
        #expect(gathered.summary(hosts: 4) == "1 of 4 hosts exited 0, 2 timed out, 1 unreachable")
        #expect(GatheredOutput([result("x", "", .timedOut)]).exitCode == 124)
    }

    @Test func everyHostIsInExactlyOneGroupOrList() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let count = Int.random(in: 1...40, using: &generator)
            let results = (0..<count).map { index -> HostResult in
                let end: HostResult.End = switch Int.random(in: 0..<6, using: &generator) {
                case 0: .timedOut
                case 1: .unreachable(reason: "lost")
                default: .exited(code: Int32.random(in: 0...2, using: &generator))
                }
                return result("h\(index)", ["x\n", "y\n", ""].randomElement(using: &generator)!, end)
            }
            let gathered = GatheredOutput(results)
            let listed = gathered.groups.flatMap(\.hosts.names) + gathered.timedOut.names + gathered.unreachable.map(\.host)
            #expect(listed.sorted() == results.map(\.host).sorted())
            #expect(gathered.exitCode == results.map(\.exitCode).max())
            for group in gathered.groups {
                for host in group.hosts.names {
                    let own = results.first { $0.host == host }!
                    #expect(own.output == group.output && own.exitCode == group.exitCode)
                }
            }
            #expect(zip(gathered.groups, gathered.groups.dropFirst()).allSatisfy { $0.hosts.count >= $1.hosts.count })
        }
    }
}
