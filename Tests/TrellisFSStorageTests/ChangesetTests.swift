import Foundation
import Testing
import TrellisFSProtocol
import TrellisFSStorage

/// A primary store whose commits are collected, and a replica store in the same fresh folder.
private final class Pair: @unchecked Sendable {
    let folder = NSTemporaryDirectory() + "trellis-changesets-\(UUID().uuidString)"
    private let lock = NSLock()
    private var shipped: [Changeset] = []
    private(set) var primary: SQLiteMetadataStore!
    private(set) var replica: SQLiteMetadataStore!

    init() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        primary = try SQLiteMetadataStore(path: folder + "/primary.sqlite", serverIndex: 0) { [unowned self] changes in
            lock.withLock { shipped.append(changes) }
        }
        replica = try SQLiteMetadataStore(path: folder + "/replica.sqlite", serverIndex: 0)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// The changesets committed since the last call.
    func take() -> [Changeset] {
        lock.withLock {
            defer { shipped = [] }
            return shipped
        }
    }
}

/// A small deterministic generator, so a failing seed can be run again.
private struct SplitMix {
    var state: UInt64
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}

private let now = Timestamp(seconds: 1_700_000_000, nanoseconds: 5)

@Suite struct ChangesetTests {
    /// Random changes on a primary, some in group commits where one request
    /// fails and rolls its savepoint back; the replica that applies each
    /// commit's changeset holds the same rows after every step, with no
    /// conflicts, and counts kept by triggers are not counted twice.
    @Test(arguments: [UInt64(1), 42, 9_001]) func aReplicaApplyingEveryCommitHoldsThePrimarysRows(seed: UInt64) throws {
        print("changeset replay seed \(seed)")
        let pair = try Pair()
        var random = SplitMix(state: seed)
        _ = try pair.primary.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now), handle: .root)
        var directories: [ObjectHandle] = [.root]
        var names: [(ObjectHandle, String)] = []
        func step(_ index: Int) throws {
            let directory = directories[random.next(directories.count)]
            switch random.next(6) {
            case 0:
                let made = try pair.primary.create(
                    NewObject(kind: .directory, mode: 0o755, uid: 1, gid: 1, time: now), named: "d\(index)", in: directory)
                directories.append(made.handle)
                names.append((directory, "d\(index)"))
            case 1, 2:
                _ = try pair.primary.create(NewObject(kind: .file, mode: 0o644, uid: 1, gid: 1, time: now), named: "f\(index)", in: directory)
                names.append((directory, "f\(index)"))
            case 3:
                guard !names.isEmpty else { return }
                let (parent, name) = names.remove(at: random.next(names.count))
                guard let entry = try pair.primary.entry(in: parent, named: name), entry.kind != .directory else { return }
                _ = try pair.primary.remove(named: name, in: parent, unlinking: entry.handle, at: now)
            case 4:
                try pair.primary.setExtendedAttribute(of: directory, named: "user.k\(index % 3)", value: [UInt8(index & 0xff)], mode: .createOrReplace, at: now)
            default:
                _ = try pair.primary.createDatafiles(count: 1 + random.next(3), at: now)
            }
        }
        for round in 0 ..< 40 {
            switch random.next(4) {
            case 0:
                // A group commit, as the serving loop makes: the failing request leaves nothing behind.
                try pair.primary.sharingOneCommit {
                    try step(round * 10)
                    _ = try pair.primary.create(NewObject(kind: .file, mode: 0, uid: 0, gid: 0, time: now), named: "g\(round)", in: .root)
                    #expect(throws: FSError.self) {
                        try pair.primary.create(NewObject(kind: .file, mode: 0, uid: 0, gid: 0, time: now), named: "g\(round)", in: .root)
                    }
                    try step(round * 10 + 1)
                }
                names.append((.root, "g\(round)"))
            case 1:
                // A group that fails as a whole keeps none of its changes, and ships none.
                struct Abandon: Error {}
                #expect(throws: FSError.self) {
                    try pair.primary.sharingOneCommit {
                        _ = try pair.primary.create(NewObject(kind: .file, mode: 0, uid: 0, gid: 0, time: now), named: "a\(round)", in: .root)
                        throw Abandon()
                    }
                }
            default:
                try step(round * 10)
            }
            for changes in pair.take() { #expect(try pair.replica.apply(changes).isEmpty) }
            #expect(try pair.replica.replicatedRows() == pair.primary.replicatedRows(), "seed \(seed), round \(round)")
        }
        // The replica continues where the primary stopped: its next handle is the primary's next.
        let fromPrimary = try pair.primary.createObject(NewObject(kind: .file, mode: 0, uid: 0, gid: 0, time: now))
        let fromReplica = try pair.replica.createObject(NewObject(kind: .file, mode: 0, uid: 0, gid: 0, time: now))
        #expect(fromPrimary.handle == fromReplica.handle)
    }

    /// A changeset applied twice (a resend after a lost acknowledgement)
    /// reports the rows that were already there and leaves the same rows.
    @Test func applyingAChangesetAgainConvergesAndCountsTheConflicts() throws {
        let pair = try Pair()
        _ = try pair.primary.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now), handle: .root)
        _ = try pair.primary.create(NewObject(kind: .file, mode: 0o644, uid: 0, gid: 0, time: now), named: "a", in: .root)
        let changes = pair.take()
        for changeset in changes { #expect(try pair.replica.apply(changeset).isEmpty) }
        let once = try pair.replica.replicatedRows()
        var conflicts = 0
        for changeset in changes { conflicts += try pair.replica.apply(changeset).count }
        #expect(conflicts > 0)
        #expect(try pair.replica.replicatedRows() == once)
        #expect(try pair.replica.entryCount(in: .root) == 1)
    }

    /// Text beyond ASCII, empty text, empty and binary blobs, and changed
    /// values reach the replica as the primary holds them (an empty value
    /// stays empty, not NULL).
    @Test func valuesOfEveryKindArriveIntact() throws {
        let pair = try Pair()
        let root = try pair.primary.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now), handle: .root)
        let file = try pair.primary.create(NewObject(kind: .file, mode: 0o644, uid: 7, gid: 8, time: now), named: "é ü 漢字 \u{1F600}", in: root.handle)
        try pair.primary.setExtendedAttribute(of: file.handle, named: "user.empty", value: [], mode: .createOrReplace, at: now)
        try pair.primary.setExtendedAttribute(of: file.handle, named: "user.bytes", value: [0, 255, 0, 1], mode: .createOrReplace, at: now)
        try pair.primary.setExtendedAttribute(of: file.handle, named: "user.bytes", value: [9], mode: .createOrReplace, at: now)
        for changeset in pair.take() { #expect(try pair.replica.apply(changeset).isEmpty) }
        #expect(try pair.replica.replicatedRows() == pair.primary.replicatedRows())
        #expect(try pair.replica.entry(in: root.handle, named: "é ü 漢字 \u{1F600}")?.handle == file.handle)
        #expect(try pair.replica.extendedAttribute(of: file.handle, named: "user.empty") == [])
        #expect(try pair.replica.extendedAttribute(of: file.handle, named: "user.bytes") == [9])
    }

    /// Bytes that are no changeset are refused, and the replica keeps its rows.
    @Test func garbageIsRefusedWithoutChangingTheReplica() throws {
        let pair = try Pair()
        _ = try pair.primary.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now), handle: .root)
        for changeset in pair.take() { try pair.replica.apply(changeset) }
        let before = try pair.replica.replicatedRows()
        #expect(throws: FSError.self) { try pair.replica.apply(Changeset(bytes: Data([0x54, 0x05, 0xff, 0xff, 0x01]))) }
        #expect(try pair.replica.replicatedRows() == before)
    }

    /// Seeded mutations of real changesets (cut short, bytes changed): each
    /// is refused with an error or applied, never a hang or a crash, and a
    /// refused one leaves the replica's rows as they were.
    @Test(arguments: [UInt64(7), 2_024]) func mutatedChangesetsAreRefusedOrApplied(seed: UInt64) throws {
        print("changeset mutation seed \(seed)")
        let pair = try Pair()
        _ = try pair.primary.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now), handle: .root)
        for index in 0 ..< 5 {
            _ = try pair.primary.create(NewObject(kind: .file, mode: 0o644, uid: 0, gid: 0, time: now), named: "f\(index)", in: .root)
            try pair.primary.setExtendedAttribute(of: .root, named: "user.a", value: [UInt8(index)], mode: .createOrReplace, at: now)
        }
        let originals = pair.take()
        var random = SplitMix(state: seed)
        var refused = 0
        for _ in 0 ..< 300 {
            var bytes = originals[random.next(originals.count)].bytes
            if random.next(2) == 0 {
                bytes = bytes.prefix(random.next(bytes.count))
            } else {
                for _ in 0 ... random.next(3) { bytes[bytes.startIndex + random.next(bytes.count)] = UInt8(random.next(256)) }
            }
            let before = try pair.replica.replicatedRows()
            do {
                try pair.replica.apply(Changeset(bytes: bytes))
            } catch {
                refused += 1
                #expect(try pair.replica.replicatedRows() == before)
            }
        }
        #expect(refused > 0)
    }
}
