import Foundation
import Glibc
import Synchronization
import Testing
import TrellisCore
import TrellisFSServer
import TrellisLauncher
import TrellisSystem

/// A replicated file system over test hosts whose link to one server's host
/// is cut and restored: the servers that still reach one another (a
/// majority) fail the cut-off server's group over and go on; the cut-off
/// server, still running and still reached by a mount on its own host, must
/// not acknowledge a write its peers do not have (no split brain). Every
/// write either side was told succeeded reads back once the link returns,
/// every group is healthy again, and every copy holds the same rows and
/// bytes. They need root and network namespaces; elsewhere they say so and skip.
@Suite(.serialized, .enabled(if: TestHosts.unavailable == nil, "\(TestHosts.unavailable ?? "")"))
struct ReplicaPartitionJobTests {
    /// One record a writer writes: 64 bytes naming the writer and its number.
    static func record(_ writer: String, _ number: Int) -> [UInt8] {
        let text = "\(writer) record \(number)"
        return Array((text + String(repeating: " ", count: 63 - text.count) + "\n").utf8)
    }

    /// A shell writer on a host: mounts the file system there and writes
    /// record after record, each into a strip held by `$GROUP`, each with an
    /// fsync, noting the ones acknowledged and when, until `$STOP` exists.
    static let writer = """
        set -u
        M=/tmp/partition-mnt
        mkdir -p $M
        ($T mount partition $M --foreground >> $OUT.mount 2>&1 &)
        for i in $(seq 300); do mountpoint -q $M && break; sleep 0.1; done
        mountpoint -q $M || { echo "no mount on $(hostname)"; cat $OUT.mount; exit 1; }
        echo mounted > $OUT.ready
        n=0
        while [ ! -e $STOP ]; do
          offset=$(( FIRST + n * STEP ))
          if printf '%-63s\\n' "$WRITER record $n" | dd of=$M$FILE bs=64 count=1 iflag=fullblock seek=$(( offset / 64 )) conv=notrunc,fsync status=none 2>> $OUT.errors; then
            echo "$n $(date +%s.%N)" >> $OUT.acked
          else
            echo "$n $(date +%s.%N) failed" >> $OUT.errors
          fi
          n=$((n + 1))
          sleep 0.1
        done
        $T umount $M
        """

    /// The last lines of a log, for a failure's message.
    static func tail(_ path: String, lines: Int = 30) -> String {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no \(path))").split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Acknowledged record numbers and when each was acknowledged.
    static func acknowledged(_ path: String) -> [(number: Int, at: Double)] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2, let number = Int(fields[0]), let at = Double(fields[1]) else { return nil }
            return (number, at)
        }
    }

    @Test func aServerCutOffFromItsPeersAcknowledgesNoWriteTheyLose() throws {
        let cluster = try TestHosts(count: 5)
        let data = cluster.folder + "/fs-data"
        let readyFile = cluster.folder + "/partition.ready"
        let cut = 2, client = 4
        // Scripts run on a host with the client's configuration and `$T`, the trellis binary.
        let clientEnvironment = ProcessEnvironment.current().merging(["TRELLIS_CONFIG": data + "/client.toml", "T": JobHarness.trellis]) { $1 }
        let commandLines = cluster.hosts.indices.map { cluster.asUser(on: $0, ["sh", "-c"]) }
        @Sendable func run(on host: Int, _ script: String, environment: [String: String] = [:], seconds: Double = 120) throws -> JobHarness.Outcome {
            try CommandRunner.run(commandLines[host] + [script], environment: clientEnvironment.merging(environment) { $1 }, timeoutSeconds: seconds)
        }
        let steps = Mutex<[String: JobHarness.Outcome]>([:])
        func step(_ name: String) -> JobHarness.Outcome? { steps.withLock { $0[name] } }
        @Sendable func note(_ name: String, _ outcome: JobHarness.Outcome?) { steps.withLock { $0[name] = outcome } }
        var layouts: [String: (first: Int, step: Int)] = [:]
        var promoted: String?
        var times: (cut: Double, restored: Double) = (0, 0)
        let stop = cluster.folder + "/writers.stop"
        let up = try cluster.runAsUser(
            on: 0,
            [JobHarness.trellis, "up", "--hosts", "\(cluster.name)-h[0-3]", "--trusted-root-hosts", "\(cluster.name)-h4", "--data", data, "--name", "partition", "--replicas", "2",
             "--ssh", "ssh -F \(cluster.sshConfig)", "--ready-file", readyFile],
            timeoutSeconds: 400
        ) { _ in
            guard poll(until: .after(seconds: 120), { FileManager.default.fileExists(atPath: readyFile) }) else { return }
            // One file per writer, in strips of 4 KiB; each writer writes only
            // strips of the cut-off server's group.
            let setup = try? run(on: client, """
                $T fs mkdir --name partition /part && $T fs layout set --name partition --strip-size-bytes 4096 /part && \
                head -c 65536 /dev/zero > /tmp/zeros && $T fs cp --name partition /tmp/zeros fs:/part/log-h\(cut) && \
                $T fs cp --name partition /tmp/zeros fs:/part/log-h\(client) && \
                $T fs layout get --name partition --json /part/log-h\(cut) /part/log-h\(client)
                """)
            note("setup", setup)
            for line in (step("setup")?.output ?? "").split(separator: "\n") where line.hasPrefix("{") {
                guard let record = try? JSONDecoder().decode(FileSystemCommandLayout.self, from: Data(line.utf8)),
                    let strip = record.strips.first(where: { $0.server == cut })
                else { continue }
                layouts[record.path] = (strip.offset, record.datafiles.count * strip.length)
            }
            guard layouts.count == 2 else { return }
            var writers: [Thread] = []
            for host in [cut, client] {
                let (first, step) = layouts["/part/log-h\(host)"]!
                let environment = [
                    "WRITER": "h\(host)", "FILE": "/part/log-h\(host)", "FIRST": String(first), "STEP": String(step), "STOP": stop,
                    "OUT": cluster.folder + "/writer-h\(host)",
                ]
                let thread = Thread {
                    let outcome = try? run(on: host, Self.writer, environment: environment, seconds: 300)
                    note("writer-h\(host)", outcome)
                }
                writers.append(thread)
                thread.start()
            }
            defer {
                FileManager.default.createFile(atPath: stop, contents: nil)
                _ = poll(until: .after(seconds: 120), intervalMicroseconds: 100_000) { writers.allSatisfy(\.isFinished) }
                note("down", try? cluster.runAsUser(on: 0, [JobHarness.trellis, "down", "--data", data]))
            }
            let writing = poll(until: .after(seconds: 60), intervalMicroseconds: 100_000) {
                [cut, client].allSatisfy { Self.acknowledged(cluster.folder + "/writer-h\($0).acked").count >= 3 }
            }
            guard writing else { return }
            // The link goes down; the majority (hosts 0, 1, 3) fails group `cut` over
            // while its server still runs and its host's mount still writes to it.
            times.cut = Date().timeIntervalSince1970
            _ = try? CommandRunner.run(["ip", "-n", cluster.hosts[cut].name, "link", "set", "eth0", "down"], timeoutSeconds: 30)
            // Writes to the group go on on the majority's side once its client's connection to the cut-off server
            // is given up (TCP's failure detection, 10 s). The link returns within 20 s: the cut-off server lives on
            // (`up --hosts` gives its hosts' links 90 s) and must learn that its group went on without it.
            _ = poll(until: .after(seconds: 20), intervalMicroseconds: 200_000) {
                Self.acknowledged(cluster.folder + "/writer-h\(client).acked").filter { $0.at > times.cut + 0.5 }.count >= 3
            }
            note("replicas-during", try? run(on: client, "$T fs replicas --name partition --json", seconds: 30))
            promoted = step("replicas-during")?.output
            times.restored = Date().timeIntervalSince1970
            _ = try? CommandRunner.run(["ip", "-n", cluster.hosts[cut].name, "link", "set", "eth0", "up"], timeoutSeconds: 30)
            // Healthy again: the cut-off server took its group's changes back as a secondary.
            _ = poll(until: .after(seconds: 120), intervalMicroseconds: 500_000) {
                // The report that found every group healthy (or the last one, if none did).
                let report = try? run(on: client, "$T fs replicas --name partition", seconds: 30)
                note("replicas-after", report)
                return report?.status == 0
            }
            // Both writers go on a while after the link returns.
            let acknowledgedBefore = [cut, client].map { Self.acknowledged(cluster.folder + "/writer-h\($0).acked").count }
            _ = poll(until: .after(seconds: 60), intervalMicroseconds: 200_000) {
                zip([cut, client], acknowledgedBefore).allSatisfy { Self.acknowledged(cluster.folder + "/writer-h\($0.0).acked").count >= $0.1 + 3 }
            }
            FileManager.default.createFile(atPath: stop, contents: nil)
            _ = poll(until: .after(seconds: 120), intervalMicroseconds: 100_000) { writers.allSatisfy(\.isFinished) }
            for host in [cut, client] {
                note("read-h\(host)", try? run(on: client, "$T fs cp --name partition fs:/part/log-h\(host) \(cluster.folder)/read-h\(host)"))
            }
            // Datafiles the cut-off primary had others make for its pool, in changes its group never took, are left over:
            // fsck finds them and nothing else, and repairs them.
            note("fsck-repair", try? run(on: client, "$T fsck --name partition --grace-seconds 0 --repair", seconds: 120))
            note("fsck", try? run(on: client, "$T fsck --name partition --grace-seconds 0", seconds: 120))
        }
        defer {
            var left = ""
            _ = poll(until: .after(seconds: 15), intervalMicroseconds: 200_000) {
                left = cluster.processesLeft()
                return left.isEmpty
            }
            #expect(left.isEmpty, "left running: \(left)\n\(up.combined.split(separator: "\n").suffix(40).joined(separator: "\n"))\nserver \(cut): \(Self.tail(data + "/server\(cut).log"))")
        }
        #expect(up.output.contains("is up: 4 servers"), "\(up.combined)")
        let serverLogs = (0..<4).map { "server \($0): \(Self.tail(data + "/server\($0).log", lines: 8))" }.joined(separator: "\n")
        #expect(step("setup")?.status == 0 && layouts.count == 2, "\(step("setup")?.combined ?? "no setup")\n\(serverLogs)")
        for host in [cut, client] {
            #expect(step("writer-h\(host)")?.status == 0, "writer on h\(host): \(step("writer-h\(host)")?.combined ?? "did not run")")
        }
        #expect(times.cut > 0 && times.restored > 0, "the link was never cut: \(up.combined)")
        // The majority promoted the group's other copy while the link was down.
        let during = (promoted ?? "").split(separator: "\n").compactMap { try? JSONDecoder().decode(FileSystemCommandReplicas.self, from: Data($0.utf8)) }
        let group = during.first { $0.group == cut }
        #expect(group?.copies.contains { $0.role == "primary" && $0.server != cut } == true, "group \(cut) during the cut: \(promoted ?? "no report")")
        let onMajority = Self.acknowledged(cluster.folder + "/writer-h\(client).acked").filter { $0.at > times.cut && $0.at < times.restored }
        #expect(onMajority.count >= 1, "writes on the majority's side went on during the cut: \(onMajority.count)")
        #expect(step("replicas-after")?.status == 0, "healthy after the link returned: \(step("replicas-after")?.combined ?? "no report")")
        // Every acknowledged record reads back, on both sides of the cut.
        for host in [cut, client] {
            let acked = Self.acknowledged(cluster.folder + "/writer-h\(host).acked")
            guard let (first, step) = layouts["/part/log-h\(host)"], let bytes = FileManager.default.contents(atPath: cluster.folder + "/read-h\(host)") else {
                Issue.record("h\(host)'s file was not read back: \(step("read-h\(host)")?.combined ?? "")")
                continue
            }
            let lost = acked.filter { number, _ in
                let offset = first + number * step
                return offset + 64 > bytes.count || Array(bytes[offset..<(offset + 64)]) != Self.record("h\(host)", number)
            }
            #expect(lost.isEmpty, "h\(host): \(lost.count) of \(acked.count) acknowledged records do not read back: \(lost.prefix(10).map(\.number))")
            let logs = "its errors: \(Self.tail(cluster.folder + "/writer-h\(host).errors"))\n"
                + "its mount: \(Self.tail(cluster.folder + "/writer-h\(host).mount"))\nserver \(host): \(Self.tail(data + "/server\(host).log"))"
            #expect(acked.count >= 6, "h\(host) wrote before and after the cut: \(acked.count) acknowledged; \(logs)")
        }
        let repair = step("fsck-repair")
        let findings = (repair?.output ?? "").split(separator: "\n").filter { $0.hasPrefix("  ") || $0.contains(": handle ") }
        #expect([0, 1].contains(repair?.status) && findings.allSatisfy { $0.contains("orphan-datafile") }, "\(repair?.combined ?? "no fsck")")
        #expect(step("fsck")?.status == 0, "\(step("fsck")?.combined ?? "no fsck")")
        #expect(step("down")?.status == 0, "\(step("down")?.combined ?? "no down")")
        let configuration = try FileSystemConfiguration.load(path: data + "/fs.toml")
        let differences = try ReplicationJobTests.differences(configuration)
        let endLogs = (0..<4).map { "server \($0): \(Self.tail(data + "/server\($0).log", lines: 12))" }.joined(separator: "\n")
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))\n\(endLogs)\n\(up.combined.split(separator: "\n").suffix(20).joined(separator: "\n"))")
    }
}

/// The fields of `trellis fs layout get --json` this test reads.
private struct FileSystemCommandLayout: Decodable {
    struct Strip: Decodable {
        var offset: Int
        var length: Int
        var server: Int
    }
    struct Datafile: Decodable {}
    var path: String
    var datafiles: [Datafile]
    var strips: [Strip]
}

/// The fields of `trellis fs replicas --json` this test reads.
private struct FileSystemCommandReplicas: Decodable {
    struct Copy: Decodable {
        var server: Int?
        var role: String
    }
    var group: Int
    var copies: [Copy]
}
