import Foundation
import Synchronization
import Testing
import TrellisFSProtocol
import TrellisFSStorage
import TrellisRuntime

@testable import TrellisFSServer

/// A primary's log of what a copy out of its group misses, and the resyncs
/// that send it: a log given up is never sent as if it held everything.
@Suite struct ResyncLogTests {
    /// A primary with no secondaries (its copies all out of the group), over a runtime of one.
    private static func withReplicator(_ body: (Replicator) throws -> Void) throws {
        let runtime = try Runtime.initialize(asSingleton: true)
        defer { try? runtime.finalize() }
        let replicator = Replicator(
            group: 0, secondaries: [], timeoutSeconds: 1, startCompletion: { runtime.startGeneralizedRequest("a change") },
            connect: { _ in fatalError("a primary without secondaries opens no line") })
        defer { replicator.close() }
        try body(replicator)
    }

    private static func change(_ byte: UInt8) -> Changeset { Changeset(bytes: Data([byte])) }

    /// A full resync begins the log at its snapshot; what is committed after
    /// it is sent from the log, and a log given up meanwhile (what a copy
    /// made anew asks for) can be neither sent nor end in the copy's return.
    @Test func aLogGivenUpDuringAResyncIsNeitherSentNorAdmitted() throws {
        try Self.withReplicator { (replicator: Replicator) throws in
            #expect(!replicator.hasCompleteLog(of: 1))
            #expect(throws: FSError.self) { try replicator.takeMissed(of: 1) }
            replicator.beginLog(of: 1)
            _ = replicator.ship(Self.change(1), callerAttends: false)
            // The snapshot is still on its way: the log does not hold all the copy lacks yet.
            #expect(throws: FSError.self) { try replicator.takeMissed(of: 1) }
            replicator.markCoversEverythingBefore(of: 1)
            #expect(replicator.hasCompleteLog(of: 1))
            #expect(try replicator.takeMissed(of: 1).rows.map(\.bytes) == [Data([1])])
            _ = replicator.ship(Self.change(2), callerAttends: false)
            #expect(try replicator.takeMissed(of: 1).rows.map(\.bytes) == [Data([2])])

            _ = replicator.ship(Self.change(3), callerAttends: false)
            replicator.giveUpLog(of: 1)
            #expect(!replicator.hasCompleteLog(of: 1))
            #expect(throws: FSError.self) { try replicator.takeMissed(of: 1) }
            var finished = false
            #expect(throws: FSError.self) { try replicator.admit(1) { _ in finished = true } }
            #expect(!finished)
            #expect(replicator.secondaries.isEmpty)
        }
    }

    /// A copy asks again every few seconds while it is resynced: the resync
    /// under way goes on (one at a time per copy), and what it is shows.
    @Test func aResyncUnderWayIsNotStartedAgain() throws {
        let secondaries = Secondaries()
        let release = DispatchSemaphore(value: 0), begun = DispatchSemaphore(value: 0)
        let runs = Atomic<Int>(0)
        #expect(secondaries.resync(of: 1) == nil)
        let started = secondaries.startResync(of: 1) { update in
            runs.add(1, ordering: .relaxed)
            update { $0.full = true }
            begun.signal()
            release.wait()
        }
        #expect(started)
        begun.wait()
        #expect(secondaries.resync(of: 1)?.full == true)
        #expect(!secondaries.startResync(of: 1) { _ in runs.add(1, ordering: .relaxed) })
        release.signal()
        try Self.awaitEnd(of: 1, secondaries)
        #expect(runs.load(ordering: .relaxed) == 1)
        #expect(secondaries.startResync(of: 1) { _ in runs.add(1, ordering: .relaxed) })
        try Self.awaitEnd(of: 1, secondaries)
        #expect(runs.load(ordering: .relaxed) == 2)
    }

    /// Waits for the resync of `member` to end (a minute at most, so a resync that never ends fails the test, not CI).
    private static func awaitEnd(of member: Int, _ secondaries: Secondaries) throws {
        for _ in 0..<60_000 where secondaries.resync(of: member) != nil { usleep(1_000) }
        try #require(secondaries.resync(of: member) == nil, "the resync of server \(member) never ended")
    }
}
