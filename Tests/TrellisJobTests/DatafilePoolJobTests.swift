import Foundation
import NIOCore
import Synchronization
import Testing
import TrellisCore
@testable import TrellisFSClient
import TrellisFSProtocol
import TrellisSystem

/// Precreated datafile pools against real servers: each server keeps
/// datafiles made ahead on every other, so a spread file's create waits
/// on no peer; the pool refills itself, survives a restart, and fsck
/// counts what it holds as referenced.
@Suite(.serialized) struct DatafilePoolJobTests {
    private static let batch = 8

    private func pooled(_ fs: FileSystemClient, server: Int) throws -> [ObjectHandle] {
        try fs.call(server: server, PooledDatafiles())
    }

    /// Until every server holds more than `least` of each other server's datafiles.
    private func waitForPools(_ fs: FileSystemClient, servers: Int, holdingMoreThan least: Int = batch - 1) throws -> Bool {
        poll(until: .after(seconds: 60), intervalMicroseconds: 50_000) {
            (0..<servers).allSatisfy { server in
                guard let handles = try? pooled(fs, server: server) else { return false }
                let perServer = Dictionary(grouping: handles) { $0.server ?? -1 }
                return (0..<servers).allSatisfy { $0 == server || perServer[$0, default: []].count > least }
            }
        }
    }

    /// A file system with pools of `batch`, and a root client once every pool is full.
    private func fileSystemWithFullPools(servers: Int) throws -> (FileSystemFixture, FileSystemClient) {
        let fixture = try FileSystemFixture(servers: servers, stripSizeBytes: 4096, precreateBatch: Self.batch)
        let fs = try fixture.client()
        fs.credentials = Credentials(uid: 0, gid: 0)
        #expect(try waitForPools(fs, servers: servers))
        return (fixture, fs)
    }

    @Test func aSpreadCreateTakesPooledDatafilesAndNeedsNoFanOut() throws {
        let (fixture, fs) = try fileSystemWithFullPools(servers: 4)
        defer { fs.close() }
        let directory = try fs.makeDirectory("/pooled")
        let owner = directory.handle.server!
        let before = Set(try pooled(fs, server: owner))

        let traffic = fs.traffic
        let file = try fs.createFile(in: directory, named: "wide", stuffed: false)
        // One request, answered without a fan-out: no tree steps beyond the round trip.
        #expect(fs.traffic.since(traffic) == LinkTraffic(messages: 2, steps: 2), "\(fs.traffic.since(traffic))")
        let remote = file.datafiles.filter { $0.server != owner }
        #expect(file.datafiles.count == 4 && remote.count == 3)
        #expect(Set(remote).isSubset(of: before), "the remote datafiles came from the owner's pool")
        #expect(Set(try pooled(fs, server: owner)).isDisjoint(with: remote), "and left it")

        // They are real datafiles on their servers: data goes through every one and back.
        let data = ByteBuffer(bytes: (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try fs.write("/pooled/wide", data, at: 0)
        #expect(try fs.read("/pooled/wide", at: 0, length: 40_000) == data)

        // A stuffed file that grows takes its new datafiles from the pool too.
        try fs.write("/pooled/grows", ByteBuffer(string: "small"), at: 0, create: true)
        let small = try fs.lookup("/pooled/grows")
        #expect(small.datafiles.count == 1)
        try fs.write("/pooled/grows", data, at: 100)
        let grown = try fs.lookup("/pooled/grows")
        #expect(grown.datafiles.count == 4 && Set(grown.datafiles.filter { $0.server != owner }).isSubset(of: before))

        // Twice a batch of creates would empty the pool; the refill thread keeps it above half a batch.
        for index in 0..<(2 * Self.batch) {
            #expect(try fs.createFile(in: directory, named: "more\(index)", stuffed: false).datafiles.count == 4)
        }
        #expect(try waitForPools(fs, servers: 4, holdingMoreThan: Self.batch / 2))

        // Pooled datafiles are no orphans to fsck.
        let check = try JobHarness.run(
            [JobHarness.trellis, "fsck", "--json", "--name", fixture.name, "--grace-seconds", "0"], environment: fixture.environment, timeoutSeconds: 300)
        #expect(check.status == 0, "\(check.combined)")
        #expect(!check.output.contains("orphan-datafile"), "\(check.combined)")
    }

    /// Creates that find the pool holding every server when they come but
    /// empty by the time their group commit runs (others in the commit took
    /// the last datafiles) are refused inside the commit with `needs-peers`
    /// and answered again on threads of their own: no client sees the
    /// refusal, every file is whole and fsck finds nothing.
    @Test func createsThatEmptyThePoolInsideAGroupCommitAreAnsweredOnThreadsOfTheirOwn() throws {
        let fixture = try FileSystemFixture(servers: 2, stripSizeBytes: 1024, precreateBatch: 2)
        let fs = try fixture.client()
        fs.credentials = Credentials(uid: 0, gid: 0)
        defer { fs.close() }
        #expect(try waitForPools(fs, servers: 2, holdingMoreThan: 1))
        try fs.makeDirectory("/busy")
        let writers = 8, filesPerRound = 8
        let clients = try (0..<writers).map { _ in try fixture.client() }
        defer { for client in clients { client.close() } }
        let data = ByteBuffer(bytes: (0..<1500).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        // The refusal needs several creates ready at once: rounds until a server counted one.
        var refused = 0.0, rounds = 0
        while refused == 0, rounds < 20 {
            let failures = Mutex<[String]>([])
            let threads = clients.enumerated().compactMap { writer, client in
                startThread(named: "writer \(writer)") { [rounds] in
                    do {
                        for index in 0..<filesPerRound {
                            let name = "/busy/r\(rounds)-w\(writer)-\(index)"
                            try client.createFile(name, stuffed: false)
                            try client.write(name, data, at: 0)
                        }
                    } catch {
                        failures.withLock { $0.append("writer \(writer): \(error)") }
                    }
                }
            }
            for thread in threads { pthread_join(thread, nil) }
            try #require(threads.count == writers && failures.withLock { $0.isEmpty }, "\(failures.withLock { $0 })\n\(fixture.logTails(lines: 30))")
            rounds += 1
            refused = try (0..<2).map { try fixture.scrapeMetrics(of: $0).total("trellis_fs_errors_total", ["code": "needs-peers"]) }.reduce(0, +)
        }
        #expect(refused >= 1, "no create was refused inside a group commit in \(rounds) rounds")
        let names = try fs.list("/busy").map(\.name)
        #expect(names.count == rounds * writers * filesPerRound)
        for name in names {
            #expect(try fs.read("/busy/" + name, at: 0, length: 4000) == data, "\(name)")
        }
        let report = try FileSystemChecker(fs: fs).run()
        #expect(report.findings.isEmpty, "fsck: \(report.findings.map { "\($0.kind) \($0.handle) \($0.detail)" })")
    }

    @Test func thePoolSurvivesARestartAndAServerDownFallsBackToTheFanOut() throws {
        let (fixture, fs) = try fileSystemWithFullPools(servers: 3)
        defer { fs.close() }
        let held = Set(try pooled(fs, server: 0))

        // The pool is in the metadata database: a restarted server still has it.
        fixture.killServer(0)
        try fixture.startServer(0)
        #expect(poll(until: .after(seconds: 30), intervalMicroseconds: 50_000) { (try? pooled(fs, server: 0)).map(Set.init) == held })

        // With server 2 down, server 0's pool still covers creates (the root lives
        // there); once its share of server 2 is gone, a create fails naming that server.
        fixture.killServer(2)
        let root = try fs.lookup("/")
        #expect(root.handle.server == 0)
        for index in 0..<Self.batch {
            #expect(try fs.createFile(in: root, named: "down\(index)", stuffed: false).datafiles.count == 3)
        }
        do {
            _ = try fs.createFile(in: root, named: "one-too-many", stuffed: false)
            Issue.record("a create needing a datafile of the downed server succeeded")
        } catch let error as FSError {
            #expect("\(error)".contains("server 2"), "\(error)")
        }
        #expect(throws: FSError.self) { _ = try fs.lookup("/one-too-many") }
    }
}
