import Foundation
import Testing
import TrellisCore
import TrellisLauncher

/// The test hosts themselves: each answers ssh from every other under its
/// own name, address and hostname, each has a node-local folder of its own,
/// and nothing of them is left afterwards.
/// They need root and network namespaces; elsewhere these tests say so and skip.
@Suite(.serialized, .enabled(if: TestHosts.unavailable == nil, "\(TestHosts.unavailable ?? "")"))
struct TestHostsJobTests {
    @Test func everyHostAnswersSshUnderItsOwnNameAndNothingIsLeft() throws {
        var name = ""
        var folder = ""
        do {
            let cluster = try TestHosts(count: 3)
            (name, folder) = (cluster.name, cluster.folder)
            #expect(cluster.hosts.count == 3 && Set(cluster.hosts.map(\.address)).count == 3)
            for from in cluster.hosts.indices {
                for to in cluster.hosts.indices where to != from {
                    let answer = try cluster.ssh(from: from, to: to, "hostname; ip -4 -o addr show eth0")
                    #expect(answer.status == 0, "\(answer.combined)")
                    let lines = answer.output.split(separator: "\n")
                    #expect(lines.first.map(String.init) == cluster.hosts[to].name, "\(answer.output)")
                    #expect(answer.output.contains(" \(cluster.hosts[to].address)/24 "), "\(answer.output)")
                }
            }
            // The node-local folder: what host 1 writes there is on host 1 only, however it is reached.
            let local = cluster.localFolder
            #expect(try cluster.ssh(from: 0, to: 1, "echo only-here > \(local)/mark").status == 0)
            #expect(try cluster.run(on: 1, ["cat", "\(local)/mark"]).output == "only-here\n")
            #expect(try cluster.ssh(from: 2, to: 1, "cat \(local)/mark").output == "only-here\n")
            for other in [0, 2] {
                #expect(try cluster.run(on: other, ["ls", "-A", local]).output.isEmpty, "host \(other) sees host 1's file")
            }
            #expect((try? FileManager.default.contentsOfDirectory(atPath: local))?.isEmpty == true, "the machine itself sees host 1's file")
            // A process left running on a host, as a job's would be.
            #expect(try cluster.ssh(from: 0, to: 2, "nohup sleep 600 > /dev/null 2>&1 &").status == 0)
        }
        let spaces = try JobHarness.run(["ip", "netns", "list"]).output
        #expect(!spaces.contains(name), "\(spaces)")
        #expect(!FileManager.default.fileExists(atPath: folder))
        #expect(!FileManager.default.fileExists(atPath: "/etc/netns/\(name)-h0"))
        let left = try JobHarness.run(["sh", "-c", "ps -eo stat=,args= | grep -v grep | grep -E 'sleep 600|\(folder)' | grep -v '^Z' || true"]).output
        #expect(left.isEmpty, "left running: \(left)")
    }
}
