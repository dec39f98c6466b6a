import Foundation
import NIOCore
import Synchronization
import Testing
import TrellisCore
import TrellisFSClient
import TrellisFSProtocol
import TrellisFSServer

/// Replicated file systems under failures chosen by a seeded random
/// generator (the seed is printed; TRELLIS_CHAOS_SEED replays a run): the
/// workload goes on through every failure, and at the end every file holds
/// what its writer was told it holds, fsck finds nothing, and every copy of
/// every replica group holds the same rows and bytes.
@Suite(.serialized) struct ChaosJobTests {
    static func seed() -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["TRELLIS_CHAOS_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max / 2)
        print("chaos seed \(seed) (TRELLIS_CHAOS_SEED=\(seed) replays this run)")
        return seed
    }

    /// Writers that create, overwrite, extend, read back and remove files of
    /// their own, each on a client of its own, until told to stop; what each
    /// file holds, as acknowledged.
    final class Workload: @unchecked Sendable {
        private let stopped = Atomic<Bool>(false)
        private let files = Mutex<[String: [UInt8]]>([:])
        private let failures = Mutex<[String]>([])
        private let done = Mutex<Int>(0)
        private var threads: [Thread] = []
        let operations = Atomic<Int>(0)

        init(fixture: FileSystemFixture, writers: Int, seed: UInt64, directory: String) throws {
            for writer in 0..<writers {
                let fs = try fixture.client()
                let thread = Thread { [self] in
                    defer {
                        fs.close()
                        done.withLock { $0 += 1 }
                    }
                    var random = SeededGenerator(seed: seed &+ UInt64(writer) &* 7919)
                    var mine: [String: [UInt8]] = [:]
                    var next = 0
                    while !stopped.load(ordering: .relaxed) {
                        let choice = Int.random(in: 0..<10, using: &random)
                        let existing = mine.keys.sorted()
                        let kind = choice < 4 || existing.isEmpty ? "create" : choice < 6 ? "overwrite" : choice < 8 ? "read" : "remove"
                        let began = Date()
                        defer {
                            // Slow operations are worth seeing beside the failures that caused them.
                            if Date().timeIntervalSince(began) > 2 { print("chaos: writer \(writer)'s \(kind) took \(String(format: "%.1f", Date().timeIntervalSince(began))) s, until \(Date())") }
                        }
                        do {
                            if choice < 4 || existing.isEmpty {
                                let name = "\(directory)/w\(writer)-\(next)"
                                next += 1
                                let bytes = (0..<Int.random(in: 0..<6000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                                try fs.createFile(name, stuffed: Bool.random(using: &random))
                                if !bytes.isEmpty { _ = try fs.write(name, ByteBuffer(bytes: bytes), at: 0) }
                                mine[name] = bytes
                            } else if choice < 6 {
                                let name = existing.randomElement(using: &random)!
                                var bytes = mine[name]!
                                let offset = Int.random(in: 0...bytes.count, using: &random)
                                let patch = (0..<Int.random(in: 1..<3000, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                                _ = try fs.write(name, ByteBuffer(bytes: patch), at: UInt64(offset))
                                if offset + patch.count > bytes.count { bytes += [UInt8](repeating: 0, count: offset + patch.count - bytes.count) }
                                bytes.replaceSubrange(offset..<(offset + patch.count), with: patch)
                                mine[name] = bytes
                            } else if choice < 8 {
                                let name = existing.randomElement(using: &random)!
                                let read = Array(try fs.read(name, at: 0, length: UInt64(mine[name]!.count + 100)).readableBytesView)
                                if read != mine[name]! { failures.withLock { $0.append("\(name) read back \(read.count) bytes that differ from the \(mine[name]!.count) written") } }
                            } else {
                                let name = existing.randomElement(using: &random)!
                                try fs.removeFile(name)
                                mine[name] = nil
                            }
                            operations.add(1, ordering: .relaxed)
                        } catch {
                            failures.withLock { $0.append("writer \(writer), \(kind) at \(Date()): \(error)") }
                            return
                        }
                    }
                    files.withLock { $0.merge(mine) { _, new in new } }
                }
                threads.append(thread)
            }
            for thread in threads { thread.start() }
        }

        /// Stops the writers and waits for them; what every file holds, and what failed.
        func finish() -> (files: [String: [UInt8]], failures: [String]) {
            stopped.store(true, ordering: .relaxed)
            while done.withLock({ $0 }) < threads.count { usleep(50_000) }
            return (files.withLock { $0 }, failures.withLock { $0 })
        }
    }

    /// A replicated file system with two writers at work in /chaos, a few seconds in.
    static func startWriters(
        servers: Int, replicas: Int, seed: UInt64, random: inout SeededGenerator
    ) throws -> (FileSystemFixture, FileSystemClient, Workload) {
        let fixture = try FileSystemFixture(servers: servers, stripSizeBytes: 1024, replicas: replicas)
        let fs = try fixture.client()
        try fs.makeDirectory("/chaos")
        let workload = try Workload(fixture: fixture, writers: 2, seed: seed, directory: "/chaos")
        usleep(UInt32.random(in: 2_000_000...4_000_000, using: &random))
        return (fixture, fs, workload)
    }

    /// Stops the writers, expecting none failed; what every file holds.
    static func stopWriters(_ workload: Workload, _ fixture: FileSystemFixture) -> [String: [UInt8]] {
        let (files, failures) = workload.finish()
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))\n\(fixture.logTails(lines: 30))")
        print("chaos: \(workload.operations.load(ordering: .relaxed)) operations, \(files.count) files at the end")
        return files
    }

    /// After the failures: every file reads back as acknowledged, the listing
    /// holds exactly them, fsck finds nothing, and (servers stopped) every
    /// copy of every group is the same.
    static func checkEverything(_ fixture: FileSystemFixture, _ fs: FileSystemClient, directory: String, files: [String: [UInt8]]) throws {
        let reports = ReplicationJobTests.awaitHealthy(fs, seconds: 120)
        #expect(reports.allSatisfy { $0.health == "healthy" }, "\(reports.map { "group \($0.group): \($0.health)" })\n\(fixture.logTails(lines: 30))")
        let wrong = try files.keys.sorted().filter { name in
            Array(try fs.read(name, at: 0, length: UInt64(files[name]!.count + 100)).readableBytesView) != files[name]!
        }
        #expect(wrong.isEmpty, "these read back other bytes than were written: \(wrong)\n\(fixture.logTails(lines: 40))")
        #expect(Set(try fs.list(directory).map { directory + "/" + $0.name }) == Set(files.keys))
        let report = try FileSystemChecker(fs: fs).run()
        #expect(report.findings.isEmpty && report.unreachableServers.isEmpty, "fsck: \(report.findings.map { "\($0.kind) \($0.handle) \($0.detail)" })")
        for server in 0..<fixture.serverCount { #expect(fixture.stopServer(server) == 0, "\(fixture.logTails())") }
        let differences = try ReplicationJobTests.differences(fixture.configuration)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    /// A killer SIGKILLs a random server every few seconds, once the file
    /// system is healthy again, and starts it again a few seconds later,
    /// while writers work.
    @Test func randomKillsAndRestartsLoseNoAcknowledgedByte() throws {
        let seed = Self.seed()
        var random = SeededGenerator(seed: seed)
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 1024, replicas: 2)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/chaos")
        let workload = try Workload(fixture: fixture, writers: 2, seed: seed, directory: "/chaos")
        for round in 1...4 {
            let reports = ReplicationJobTests.awaitHealthy(fs, seconds: 120)
            guard reports.allSatisfy({ $0.health == "healthy" }) else {
                Issue.record("round \(round): not healthy: \(reports.map { "group \($0.group): \($0.health)" })\n\(fixture.logTails(lines: 30))")
                break
            }
            usleep(UInt32.random(in: 500_000...2_000_000, using: &random))
            let victim = Int.random(in: 0..<fixture.serverCount, using: &random)
            print("chaos round \(round): killing server \(victim) after \(workload.operations.load(ordering: .relaxed)) operations")
            fixture.killServer(victim)
            usleep(UInt32.random(in: 1_000_000...4_000_000, using: &random))
            try fixture.startServer(victim)
        }
        let files = Self.stopWriters(workload, fixture)
        try Self.checkEverything(fixture, fs, directory: "/chaos", files: files)
    }

    /// Two servers of five, of different replica groups, die at once: the
    /// three left are a majority, every group keeps a copy, and the work goes on.
    @Test func twoServersKilledAtOnceLoseNoAcknowledgedByte() throws {
        let seed = Self.seed()
        var random = SeededGenerator(seed: seed)
        let (fixture, fs, workload) = try Self.startWriters(servers: 5, replicas: 2, seed: seed, random: &random)
        defer { fs.close() }
        let placement = try fixture.configuration.placement()
        // Two servers that share no group, so that every group keeps a copy.
        let pairs = (0..<5).flatMap { first in ((first + 1)..<5).map { (first, $0) } }.filter { pair in
            !placement.members.contains { $0.contains(pair.0) && $0.contains(pair.1) }
        }
        let (first, second) = try #require(pairs.randomElement(using: &random))
        print("chaos: killing servers \(first) and \(second) at once after \(workload.operations.load(ordering: .relaxed)) operations")
        fixture.killServer(first)
        fixture.killServer(second)
        usleep(UInt32.random(in: 3_000_000...5_000_000, using: &random))
        try fixture.startServer(first)
        try fixture.startServer(second)
        // The writers go on while both are resynced.
        usleep(UInt32.random(in: 3_000_000...6_000_000, using: &random))
        let files = Self.stopWriters(workload, fixture)
        try Self.checkEverything(fixture, fs, directory: "/chaos", files: files)
    }

    /// A server's disk dies: the server is stopped, its groups fail over, its
    /// storage is made again empty (`mkfs` for its index), and it starts:
    /// every copy it keeps is resynced in full while the writers go on.
    @Test func aServerReplacedByAnEmptyOneIsResyncedInFull() throws {
        try Self.replaceADisk(waitingForFailover: true)
    }

    /// A server's disk is replaced at once: it is SIGKILLed, its storage made
    /// again empty and started before its groups could fail over. Its peers
    /// still count its old copies as members in step, which its empty ones
    /// must not pass for: it stays silent until its groups go on without
    /// them, and every copy it keeps is resynced in full while the writers go on.
    @Test func aDiskReplacedBeforeItsGroupsFailOverIsResyncedInFull() throws {
        try Self.replaceADisk(waitingForFailover: false)
    }

    /// Kills a random server of three under two writers, makes its storage
    /// again empty (after its groups went on without it, or at once), starts
    /// it, and checks that both its copies were resynced in full and that
    /// nothing acknowledged was lost.
    static func replaceADisk(waitingForFailover: Bool) throws {
        let seed = Self.seed()
        var random = SeededGenerator(seed: seed)
        let (fixture, fs, workload) = try Self.startWriters(servers: 3, replicas: 2, seed: seed, random: &random)
        defer { fs.close() }
        let victim = Int.random(in: 0..<fixture.serverCount, using: &random)
        print("chaos: server \(victim)'s disk dies after \(workload.operations.load(ordering: .relaxed)) operations")
        fixture.killServer(victim)
        if waitingForFailover {
            _ = ReplicationJobTests.awaitReports(fs, seconds: 60) { reports in
                reports.allSatisfy { $0.primary.map { !$0.members.contains(UInt32(victim)) } ?? false }
            }
        }
        try FileManager.default.removeItem(atPath: fixture.configuration.servers[victim].storage)
        try ServerStorage.make(fixture.configuration, server: victim)
        try fixture.startServer(victim)
        usleep(UInt32.random(in: 3_000_000...5_000_000, using: &random))
        let files = Self.stopWriters(workload, fixture)
        let healthy = ReplicationJobTests.awaitHealthy(fs, seconds: 120)
        let fullResyncs = healthy.compactMap { $0.primary?.memberStates.first { $0.server == UInt32(victim) } }.filter(\.full)
        #expect(fullResyncs.count == 2, "server \(victim)'s two copies are resynced in full: \(healthy.map { "group \($0.group) \($0.health) \($0.primary?.memberStates ?? [])" })")
        try Self.checkEverything(fixture, fs, directory: "/chaos", files: files)
    }

    /// Three copies of everything: a primary dies while its changes are on
    /// their way to both secondaries, so the copy that takes over and the
    /// third may each hold a change the other lacks. The third leaves the
    /// group and is resynced in full from the new primary; in the end every
    /// copy of every group holds the same rows and bytes.
    @Test func aPrimaryOfThreeCopiesKilledLeavesNoCopyDifferent() throws {
        let seed = Self.seed()
        var random = SeededGenerator(seed: seed)
        let (fixture, fs, workload) = try Self.startWriters(servers: 4, replicas: 3, seed: seed, random: &random)
        defer { fs.close() }
        let victim = Int.random(in: 0..<fixture.serverCount, using: &random)
        print("chaos: killing server \(victim), primary of group \(victim), after \(workload.operations.load(ordering: .relaxed)) operations")
        fixture.killServer(victim)
        func primary(_ reports: [ReplicaGroupReport]) -> Int? {
            reports.first { $0.group == victim }?.primary?.members.first.map(Int.init)
        }
        let newPrimary = primary(ReplicationJobTests.awaitReports(fs, seconds: 60) { reports in primary(reports).map { $0 != victim } ?? false })
        let taker = try #require(newPrimary.flatMap { $0 == victim ? nil : $0 }, "group \(victim) found no new primary\n\(fixture.logTails(lines: 30))")
        try fixture.startServer(victim)
        usleep(UInt32.random(in: 3_000_000...5_000_000, using: &random))
        let files = Self.stopWriters(workload, fixture)
        let healthy = ReplicationJobTests.awaitHealthy(fs, seconds: 120)
        let third = try fixture.configuration.placement().members[victim].first { $0 != victim && $0 != taker }!
        let states = healthy.first { $0.group == victim }?.primary?.memberStates ?? []
        #expect(states.first { $0.server == UInt32(third) }?.full == true, "server \(third), the third copy of group \(victim), is resynced in full from server \(taker): \(states)\n\(fixture.logTails(lines: 30))")
        try Self.checkEverything(fixture, fs, directory: "/chaos", files: files)
    }
}
