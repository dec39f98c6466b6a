import Foundation
import Glibc
import NIOCore
import Synchronization
import Testing
import TrellisFSClient
import TrellisFSProtocol
import TrellisFSServer
import TrellisFSStorage

/// Real servers with replicas: every change a primary makes reaches the
/// other copies of its group before the client hears of it, so after a
/// workload each copy holds the same rows and the same bytes.
@Suite(.serialized) struct ReplicationJobTests {
    /// Each group's copies, compared once the servers have stopped: the
    /// metadata rows a changeset carries, and every bstream's bytes.
    static func differences(_ configuration: FileSystemConfiguration) throws -> [String] {
        let placement = try configuration.placement()
        var found: [String] = []
        for (group, members) in placement.members.enumerated() {
            func open(_ server: Int) throws -> (rows: String, bstreams: [String: Data]) {
                let folder = ServerStorage.folder(configuration, server: server, group: group)
                let store = try SQLiteMetadataStore(path: folder + "/metadata.sqlite", serverIndex: group)
                // Kept empty files (.recycled) are no datafile's: each copy keeps its own.
                let names = try FileManager.default.contentsOfDirectory(atPath: folder + "/bstreams").filter { !$0.hasPrefix(".") }
                let bstreams = Dictionary(uniqueKeysWithValues: try names.map { ($0, try Data(contentsOf: URL(fileURLWithPath: folder + "/bstreams/" + $0))) })
                return (try store.replicatedRows(), bstreams)
            }
            let primary = try open(members[0])
            for secondary in members.dropFirst() {
                let copy = try open(secondary)
                if copy.rows != primary.rows {
                    let theirs = Set(copy.rows.split(separator: "\n")), ours = Set(primary.rows.split(separator: "\n"))
                    found.append("group \(group): server \(secondary)'s copy lacks \(ours.subtracting(theirs).sorted()) and has \(theirs.subtracting(ours).sorted())")
                }
                if copy.bstreams != primary.bstreams {
                    found.append("group \(group): server \(secondary)'s bstreams \(copy.bstreams.keys.sorted()) differ from \(primary.bstreams.keys.sorted())")
                }
            }
        }
        return found
    }

    @Test func everyCopyOfEveryGroupEndsTheSame() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 1024, replicas: 2)
        do {
            let fs = try fixture.client()
            defer { fs.close() }
            try fs.makeDirectories("/a/b/c")
            for index in 0..<20 {
                try fs.createFile("/a/b/f\(index)", stuffed: index % 2 == 0)
                let bytes = (0..<(index * 700)).map { UInt8(truncatingIfNeeded: $0 &+ index) }
                if !bytes.isEmpty { _ = try fs.write("/a/b/f\(index)", ByteBuffer(bytes: bytes), at: 0) }
            }
            try fs.rename("/a/b/f3", to: "/a/c3")
            try fs.removeFile("/a/b/f5")
            try fs.removeFile("/a/b/f6")
            try fs.setExtendedAttribute("/a", named: "user.note", to: ByteBuffer(bytes: [1, 2, 3]))
            try fs.truncate("/a/b/f9", to: 100)
            try fs.makeDirectory("/a/b/c/d")
            try fs.removeDirectory("/a/b/c/d")
            #expect(try fs.read("/a/c3", at: 0, length: 3000).readableBytes == 2100)
        }
        for server in 0..<fixture.serverCount { #expect(fixture.stopServer(server) == 0, "\(fixture.logTails())") }
        let differences = try Self.differences(fixture.configuration)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// The server that is primary of a directory's group, and of a share of
    /// every file's data, is SIGKILLed: a secondary takes over once more than
    /// half of the servers agree, the client finds it, and every byte written
    /// before and after reads back.
    @Test func aKilledPrimaryIsReplacedAndEveryAcknowledgedByteReadsBack() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 1024, replicas: 2)
        let fs = try fixture.client()
        defer { fs.close() }
        let files = try WrittenFiles(fs, stuffed: { _ in false })
        func write(_ name: String, _ seed: Int) throws { try files.write(name, seed: seed) }
        for index in 0..<10 { try write("before\(index)", index) }
        let victim = try #require(try fs.stat("/work").handle.server)
        fixture.killServer(victim)
        let killed = DispatchTime.now().uptimeNanoseconds
        do {
            try write("after0", 100)
        } catch {
            Issue.record("\(error)\n\(fixture.logTails(lines: 40))")
            return
        }
        print("failover: the first create and write after server \(victim) was killed took \(Double(DispatchTime.now().uptimeNanoseconds - killed) / 1e9) s")
        for index in 1..<10 { try write("after\(index)", 100 + index) }
        try files.expectEveryFileReadsBack("\(fixture.logTails())")
    }

    /// A primary that stops answering while its connections stay open (a
    /// stopped process; a cut link looks the same to its clients until TCP
    /// gives up): a client's request waits its patience, finds the copy that
    /// took over the group, and completes while the old primary is still
    /// stopped, well within a client deadline that waiting on the old
    /// connection would have used up. Once it runs again the old primary is
    /// resynced and every byte reads back.
    @Test func aPrimaryThatStopsAnsweringIsPassedByWhileItsConnectionStaysOpen() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 1024, replicas: 2)
        let fs = try fixture.client(timeoutSeconds: 20)
        defer { fs.close() }
        let files = try WrittenFiles(fs)
        func write(_ name: String, _ seed: Int) throws { try files.write(name, seed: seed) }
        for index in 0..<5 { try write("before\(index)", index) }
        let victim = try #require(try fs.stat("/work").handle.server)
        let pid = fixture.serverPIDs[victim]
        #expect(kill(pid, SIGSTOP) == 0)
        var continued = false
        defer { if !continued { kill(pid, SIGCONT) } }
        let stopped = DispatchTime.now().uptimeNanoseconds
        do {
            try write("while-stopped", 50)
        } catch {
            Issue.record("a write to the group of stopped server \(victim) failed: \(error)\n\(fixture.logTails(lines: 40))")
            return
        }
        print("a write while server \(victim) was stopped took \(Double(DispatchTime.now().uptimeNanoseconds - stopped) / 1e9) s")
        kill(pid, SIGCONT)
        continued = true
        for index in 1..<5 { try write("after\(index)", 100 + index) }
        let reports = Self.awaitHealthy(fs, seconds: 60)
        #expect(reports.allSatisfy { $0.health == "healthy" }, "\(reports)\n\(fixture.logTails(lines: 40))")
        try files.expectEveryFileReadsBack()
    }

    /// Without a datafile pool every create makes its datafiles on its
    /// peers, and with replicas it commits with the record of its reply.
    /// Once a group has failed over, one server serves its own group and
    /// the taken-over copy on one serving thread. Creates, stats and
    /// removes from several clients go on there, and no server waits on a
    /// peer while it holds a database (a debug build stops a server that
    /// does): before, a create that fanned out inside its commit to the
    /// copy its own serving thread served, while that thread waited for the
    /// same database, stood still until its peer deadline passed.
    @Test func createsThatFanOutGoOnWhileOneServerServesTwoGroups() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 1024, precreateBatch: 0, replicas: 3)
        let fs = try fixture.client()
        defer { fs.close() }
        let directories = (0..<4).map { "/d\($0)" }
        for directory in directories { try fs.makeDirectory(directory) }
        fixture.killServer(0)
        let reports = Self.awaitReports(fs, seconds: 60) { reports in
            reports.first { $0.group == 0 }?.primary.map { !$0.members.contains(0) } ?? false
        }
        try #require(
            reports.first { $0.group == 0 }?.primary.map { !$0.members.contains(0) } ?? false,
            "group 0 went on without server 0: \(reports)\n\(fixture.logTails(lines: 30))")
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { writer in
            do {
                let client = try fixture.client()
                defer { client.close() }
                for index in 0..<16 {
                    let name = "\(directories[(writer + index) % 4])/w\(writer)-\(index)"
                    try client.createFile(name, stuffed: false)
                    _ = try client.write(name, ByteBuffer(repeating: UInt8(index), count: 3000), at: 0)
                    _ = try client.stat(directories[(writer + index + 1) % 4])
                    if index % 4 == 3 { try client.removeFile(name) }
                }
            } catch {
                failures.withLock { $0.append("writer \(writer): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })\n\(fixture.logTails(lines: 30))")
        let names = try directories.flatMap { directory in try fs.list(directory).map { "\(directory)/\($0.name)" } }
        #expect(names.count == 4 * 12, "\(names.sorted())")
        for name in names {
            #expect(try fs.read(name, at: 0, length: 4000).readableBytes == 3000, "\(name)")
        }
        let report = try FileSystemChecker(fs: fs).run()
        #expect(report.findings.isEmpty, "fsck: \(report.findings.map { "\($0.kind) \($0.handle) \($0.detail)" })")
        for server in 1..<4 { #expect(fixture.stopServer(server) == 0, "server \(server) stopped cleanly\n\(fixture.logTails(lines: 30))") }
    }

    /// `trellis fs layout get` names the servers holding each datafile's
    /// copies (the group's primary first); `layout set --replicas` takes
    /// the file system's own count, and refuses one it keeps no groups for.
    @Test func layoutNamesEachDatafilesCopiesAndRefusesAnotherCopyCount() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 1024, replicas: 2)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/l")
        try fs.createFile("/l/wide", stuffed: false)
        _ = try fs.write("/l/wide", ByteBuffer(repeating: 5, count: 5000), at: 0)
        let name = ["--name", fixture.name]
        struct Record: Decodable {
            struct Datafile: Decodable { var server: Int; var copies: [Int]? }
            var replicas: Int; var datafiles: [Datafile]
        }
        let get = try JobHarness.run([JobHarness.trellis, "fs", "layout", "get", "--json"] + name + ["/l/wide"], environment: fixture.environment)
        #expect(get.status == 0, "\(get.combined)")
        let record = try JSONDecoder().decode(Record.self, from: Data(get.output.utf8))
        #expect(record.replicas == 2 && record.datafiles.count == 3)
        let placement = try fixture.configuration.placement()
        for datafile in record.datafiles {
            #expect(datafile.copies == placement.members[datafile.server], "\(get.output)")
        }
        let other = try JobHarness.run([JobHarness.trellis, "fs", "layout", "set", "--replicas", "3"] + name + ["/l"], environment: fixture.environment)
        #expect(other.status != 0 && other.combined.contains("keeps no data with 3 copies"), "\(other.combined)")
        let same = try JobHarness.run([JobHarness.trellis, "fs", "layout", "set", "--replicas", "2"] + name + ["/l"], environment: fixture.environment)
        #expect(same.status == 0, "\(same.combined)")
    }

    /// Waits (up to `seconds`) until every replica group is healthy; the reports last seen.
    static func awaitHealthy(_ fs: FileSystemClient, seconds: Double) -> [ReplicaGroupReport] {
        awaitReports(fs, seconds: seconds) { reports in reports.allSatisfy { $0.health == "healthy" } }
    }

    /// Asks for the replica groups' reports until `done` holds for them or
    /// `seconds` pass; the reports last seen.
    static func awaitReports(_ fs: FileSystemClient, seconds: Double, until done: ([ReplicaGroupReport]) -> Bool) -> [ReplicaGroupReport] {
        let until = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        var reports = fs.replicaStatus()
        while !done(reports), DispatchTime.now().uptimeNanoseconds < until {
            usleep(200_000)
            reports = fs.replicaStatus()
        }
        return reports
    }

    /// The killed primary comes back: the group it led failed over, so its
    /// copy there may hold changes the others never had and is resynced in
    /// full; its copy of the group it was a secondary of is sent only the
    /// log of what it missed. Both are taken back, take the changes made
    /// after, and end with the same rows and bytes as their primaries.
    @Test func aKilledServerComesBackResyncedInFullAndFromItsLog() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 1024, replicas: 2)
        let fs = try fixture.client()
        defer { fs.close() }
        let files = try WrittenFiles(fs, stuffed: { $0 % 3 == 0 })
        func write(_ name: String, _ seed: Int) throws { try files.write(name, seed: seed) }
        for index in 0..<12 { try write("before\(index)", index) }
        let victim = try #require(try fs.stat("/work").handle.server)
        let placement = try fixture.configuration.placement()
        let secondaryOf = try #require(placement.members.indices.first { placement.members[$0].dropFirst().contains(victim) })
        fixture.killServer(victim)
        do {
            for index in 0..<12 { try write("away\(index)", 40 + index) }
            for index in 0..<4 { try files.remove("before\(index)") }
            try files.truncate("before5", to: 100)
        } catch {
            Issue.record("\(error)\n\(fixture.logTails(lines: 40))")
            return
        }
        try fixture.startServer(victim)
        let reports = Self.awaitHealthy(fs, seconds: 120)
        let printed = reports.map { report in
            "group \(report.group) \(report.health): " + report.copies.map { "\($0.status.map { "\($0.server) \($0.role.name) \($0.memberStates.map { "\($0.server) \($0.state.name) full \($0.full) \($0.sentObjects)/\($0.totalObjects) objects \($0.sentBytes) bytes" })" } ?? "\($0.error ?? "?")")" }.joined(separator: "; ")
        }
        print(printed.joined(separator: "\n"))
        guard reports.allSatisfy({ $0.health == "healthy" }) else {
            Issue.record("not every group is healthy:\n\(printed.joined(separator: "\n"))\n\(fixture.logTails(lines: 40))")
            return
        }
        // The group it led went on without it: resynced in full. The group it followed kept a log for it.
        let ledState = reports[victim].primary?.memberStates.first { $0.server == UInt32(victim) }
        let followedState = reports[secondaryOf].primary?.memberStates.first { $0.server == UInt32(victim) }
        #expect(ledState?.full == true && ledState?.state == .good, "\(printed)")
        #expect(followedState?.full == false && followedState?.state == .good, "\(printed)")
        #expect(reports[victim].primary?.server != UInt32(victim))
        // Back as a secondary, it takes the changes made from now on.
        for index in 0..<6 { try write("back\(index)", 80 + index) }
        try files.remove("away0")
        try files.expectEveryFileReadsBack()
        for server in 0..<fixture.serverCount { #expect(fixture.stopServer(server) == 0, "\(fixture.logTails())") }
        let differences = try Self.differences(fixture.configuration)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// A group goes on with its primary alone after its secondary dies; the
    /// primary is then restarted (cleanly) while the secondary is still
    /// away. When the secondary returns, the primary, which leads a group of
    /// one, still resyncs it and takes it back.
    @Test func aPrimaryRestartedAloneStillTakesItsCopyBack() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 1024, replicas: 2)
        let fs = try fixture.client(timeoutSeconds: 20)
        defer { fs.close() }
        let files = try WrittenFiles(fs)
        for index in 0..<6 { try files.write("before\(index)", seed: index) }
        let placement = try fixture.configuration.placement()
        let secondary = try #require(try fs.stat("/work").handle.server)
        // The group the dead server follows, and that group's primary.
        let group = try #require(placement.members.indices.first { placement.members[$0].dropFirst().contains(secondary) })
        fixture.killServer(secondary)
        _ = Self.awaitReports(fs, seconds: 60) { reports in reports[group].primary?.members == [UInt32(group)] }
        #expect(fixture.stopServer(group) == 0, "\(fixture.logTails())")
        try fixture.startServer(group)
        try fixture.startServer(secondary)
        let reports = Self.awaitHealthy(fs, seconds: 120)
        #expect(reports[group].health == "healthy" && reports[group].primary?.members.count == 2,
                "group \(group): \(reports[group].health), members \(reports[group].primary?.members ?? [])\n\(fixture.logTails(lines: 30))")
        try files.expectEveryFileReadsBack()
    }

    /// A secondary whose disk fills cannot take its primary's writes: it
    /// leaves its group (a vote it asks for itself), every write the client
    /// makes is acknowledged and reads back, and once there is room again the
    /// copy is resynced and taken back, with its primary's rows and bytes.
    @Test(.enabled(if: geteuid() == 0, "a small disk is a tmpfs, which only root can mount"))
    func aSecondaryWhoseDiskFillsLeavesItsGroupAndComesBackOnceThereIsRoom() throws {
        let placement = try ReplicaPlacement(hosts: Array(repeating: "127.0.0.1", count: 4), replicas: 2)
        // Group 0 keeps its second copy on `small`, whose storage holds 12 MiB.
        let small = placement.members[0][1]
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 65_536, storageBytesOfServer: [small: 12 << 20], replicas: 2)
        #expect(try fixture.configuration.placement() == placement)
        do {
            let fs = try fixture.client()
            defer { fs.close() }
            // A file whose one datafile is in group 0: its bytes go to server 0 and to `small`.
            var target: String?
            for index in 0..<32 where target == nil {
                let made = try fs.createFile("/f\(index)", distribution: try .simpleStripe(stripSizeBytes: 65_536, datafileCount: 1), stuffed: false)
                if made.datafiles.first?.server == 0 { target = "/f\(index)" }
            }
            let file = try #require(target)
            let chunk = ByteBuffer(bytes: (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            do {
                for index in 0..<24 { #expect(try fs.write(file, chunk, at: UInt64(index << 20)) == 1 << 20, "chunk \(index)") }
            } catch {
                Issue.record("\(error)\n\(fixture.logTails(lines: 30))")
                throw error
            }
            for index in 0..<24 { #expect(try fs.read(file, at: UInt64(index << 20), length: 1 << 20) == chunk, "chunk \(index)") }
            let report = fs.replicaStatus()[0]
            #expect(report.health == "degraded", "\(report.primary?.memberStates ?? [])")
            #expect(report.primary?.members.contains(UInt32(small)) == false, "\(fixture.logTails())")
            // Room again: the copy is resynced and taken back.
            try fs.removeFile(file)
            let healthy = Self.awaitHealthy(fs, seconds: 90)
            #expect(healthy.allSatisfy { $0.health == "healthy" }, "\(healthy.map { "group \($0.group) \($0.health) \($0.primary?.memberStates ?? [])" })\n\(fixture.logTails())")
        }
        for server in 0..<fixture.serverCount { #expect(fixture.stopServer(server) == 0, "\(fixture.logTails())") }
        let differences = try Self.differences(fixture.configuration)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
}

/// Files written in `/work` and the bytes each must read back: a workload
/// whose every acknowledged byte a replication test checks.
final class WrittenFiles {
    private let fs: FileSystemClient
    private let stuffed: (Int) -> Bool
    private(set) var bytes: [String: [UInt8]] = [:]

    /// Makes `/work`; a file written with seed `s` is stuffed when `stuffed(s)` says so.
    init(_ fs: FileSystemClient, stuffed: @escaping (Int) -> Bool = { _ in true }) throws {
        self.fs = fs
        self.stuffed = stuffed
        try fs.makeDirectory("/work")
    }

    /// Creates `/work/name` with a few KiB made from `seed`, and keeps them.
    func write(_ name: String, seed: Int) throws {
        let data = (0..<(3000 + seed * 53)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ seed) }
        try fs.createFile("/work/" + name, stuffed: stuffed(seed))
        #expect(try fs.write("/work/" + name, ByteBuffer(bytes: data), at: 0) == UInt64(data.count))
        bytes[name] = data
    }

    func remove(_ name: String) throws {
        try fs.removeFile("/work/" + name)
        bytes[name] = nil
    }

    func truncate(_ name: String, to size: Int) throws {
        try fs.truncate("/work/" + name, to: UInt64(size))
        bytes[name] = bytes[name].map { Array($0.prefix(size)) }
    }

    /// Every file kept reads back its bytes, and `/work` holds those files alone.
    func expectEveryFileReadsBack(_ context: @autoclosure () -> String = "") throws {
        for (name, data) in bytes {
            #expect(Array(try fs.read("/work/" + name, at: 0, length: UInt64(data.count + 10)).readableBytesView) == data, "\(name)")
        }
        #expect(Set(try fs.list("/work").map(\.name)) == Set(bytes.keys), "\(context())")
    }
}
