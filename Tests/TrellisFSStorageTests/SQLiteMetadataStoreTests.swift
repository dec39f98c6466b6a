import Foundation
import Testing
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage

/// A real SQLite database in a fresh temporary folder.
private func withStore(server: Int = 2, _ body: (SQLiteMetadataStore, String) throws -> Void) throws {
    let folder = NSTemporaryDirectory() + "trellis-metadata-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/metadata.sqlite"
    try body(try SQLiteMetadataStore(path: path, serverIndex: server), path)
}

private let now = Timestamp(seconds: 1_700_000_000, nanoseconds: 5)

@Suite struct SQLiteMetadataStoreTests {
    @Test func objectsKeepTheirAttributesAcrossReopening() throws {
        try withStore { store, path in
            let distribution = try Distribution.variableStrip(stripSizesBytes: [4096, 8192], firstServer: 1)
            let file = try store.createObject(NewObject(kind: .file, mode: 0o640, uid: 10, gid: 20, time: now, distribution: distribution))
            #expect(file.handle.server == 2 && file.handle.serial >= 2)
            #expect(file.mode == 0o640 && file.uid == 10 && file.gid == 20 && file.linkCount == 1)
            #expect(file.distribution == distribution && file.modifyTime == now)
            let link = try store.createObject(NewObject(kind: .symlink, mode: 0o777, uid: 0, gid: 0, time: now, linkTarget: "a/b"))
            #expect(link.size == 3)
            #expect(link.handle != file.handle)

            // A server holds its database alone: the store closes before another opens it.
            try store.close()
            let reopened = try SQLiteMetadataStore(path: path, serverIndex: 2)
            #expect(try reopened.attributes(of: file.handle) == file)
            #expect(try reopened.linkTarget(of: link.handle) == "a/b")
            #expect(try reopened.objectCount() == 2)
            // A deleted object's handle is never given out again.
            try reopened.deleteObject(link.handle)
            #expect(try reopened.attributes(of: link.handle) == nil)
            let next = try reopened.createObject(NewObject(kind: .file, mode: 0o600, uid: 0, gid: 0, time: now))
            #expect(next.handle.serial > link.handle.serial)
        }
    }

    @Test func aNewDatabaseHasSmallPages() throws {
        try withStore { store, path in
            _ = try store.createObject(NewObject(kind: .file, mode: 0o600, uid: 0, gid: 0, time: now))
            try store.close()
            // The page size sits big-endian at byte 16 of the file's header.
            let header = try #require(FileManager.default.contents(atPath: path)?.prefix(18))
            #expect(Int(header[16]) << 8 | Int(header[17]) == 1024)
        }
    }

    /// Creates take the serial after the newest object; deleting the newest
    /// moves the counter past it, so no serial is ever given out twice.
    @Test func aSerialIsNeverGivenOutTwice() throws {
        try withStore { store, path in
            let file = NewObject(kind: .file, mode: 0o600, uid: 0, gid: 0, time: now)
            var given = Set<UInt64>()
            func make(_ store: SQLiteMetadataStore) throws -> ObjectHandle {
                let handle = try store.createObject(file).handle
                #expect(given.insert(handle.serial).inserted, "serial \(handle.serial) given out twice")
                return handle
            }
            let older = try make(store)
            var newest = try make(store)
            for _ in 0..<3 {
                try store.deleteObject(newest)
                newest = try make(store)
            }
            try store.deleteObject(older)
            _ = try make(store)
            // A made-up handle far above the newest (clients name any number) uses up nothing.
            try store.deleteDatafiles([ObjectHandle(server: 2, serial: (1 << 48) - 1)])
            try store.deleteObject(ObjectHandle(server: 2, serial: (1 << 48) - 2))
            _ = try make(store)
            // Datafiles take serials from the same range.
            let datafiles = try store.createDatafiles(count: 3, at: now)
            for datafile in datafiles { #expect(given.insert(datafile.serial).inserted) }
            try store.deleteDatafiles([datafiles[2]])
            newest = try make(store)
            try store.deleteObject(newest)
            try store.close()
            let reopened = try SQLiteMetadataStore(path: path, serverIndex: 2)
            let after = try make(reopened)
            #expect(after.serial > newest.serial)
        }
    }

    @Test func theRootHasAFixedHandleAndOnlyOnce() throws {
        try withStore(server: 0) { store, _ in
            let root = try store.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now), handle: .root)
            #expect(root.handle == .root && root.linkCount == 2)
            #expect(throws: FSError.self) { try store.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now), handle: .root) }
            #expect(try store.createObject(NewObject(kind: .file, mode: 0o644, uid: 0, gid: 0, time: now)).handle.serial == 2)
        }
    }

    @Test func updatesChangeOnlyWhatTheyName() throws {
        try withStore { store, _ in
            let file = try store.createObject(NewObject(kind: .file, mode: 0o644, uid: 1, gid: 1, time: now))
            let later = Timestamp(seconds: now.seconds + 60)
            let changed = try store.update(file.handle, AttributeChanges(mode: 0o100600, gid: 7), at: later)
            #expect(changed.mode == 0o600 && changed.uid == 1 && changed.gid == 7)
            #expect(changed.changeTime == later && changed.modifyTime == now)
            #expect(throws: FSError.self) { try store.update(ObjectHandle(server: 2, serial: 999), AttributeChanges(mode: 0), at: later) }
        }
    }

    @Test func entriesAddRemoveRenameAndPage() throws {
        try withStore { store, _ in
            let directory = try store.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now))
            let names = (0..<250).map { String(format: "entry-%04d", $0) }
            for name in names.shuffled() {
                try store.addEntry(DirectoryEntry(name: name, handle: ObjectHandle(server: 5, serial: 10), kind: .file), in: directory.handle)
            }
            #expect(throws: FSError.self) { try store.addEntry(DirectoryEntry(name: names[0], handle: .root, kind: .file), in: directory.handle) }
            #expect(try store.attributes(of: directory.handle)?.size == 250)
            var listed: [String] = []
            var cursor: String?
            var pages = 0
            while true {
                let page = try store.entries(in: directory.handle, after: cursor, limit: 64)
                listed += page.entries.map(\.name)
                pages += 1
                guard page.more else { break }
                cursor = page.entries.last?.name
            }
            #expect(listed == names && pages == 4)

            let replaced = try store.moveEntry(from: (directory.handle, names[0]), to: (directory.handle, names[1]))
            #expect(replaced?.name == names[1])
            #expect(try store.entry(in: directory.handle, named: names[0]) == nil)
            #expect(try store.entry(in: directory.handle, named: names[1]) != nil)
            #expect(try store.removeEntry(named: names[1], in: directory.handle).name == names[1])
            #expect(throws: FSError.self) { try store.removeEntry(named: names[1], in: directory.handle) }
            #expect(try store.entryCount(in: directory.handle) == 248)
            // The count stays right through replacing an entry and adding a new one by replacement.
            _ = try store.replaceEntry(DirectoryEntry(name: names[2], handle: .root, kind: .file), in: directory.handle)
            _ = try store.replaceEntry(DirectoryEntry(name: "fresh", handle: .root, kind: .file), in: directory.handle)
            #expect(try store.entryCount(in: directory.handle) == 249 && store.attributes(of: directory.handle)?.size == 249)
            // Another server's directory with the same serial is not this one (a rename over it once failed with not-empty).
            let foreign = ObjectHandle(server: (directory.handle.server ?? 0) + 1, serial: directory.handle.serial)
            #expect(try store.entryCount(in: foreign) == 0)
        }
    }

    @Test func namesAreStoredExactly() throws {
        try withStore { store, _ in
            let directory = try store.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now))
            for name in ["ümlaut", "with space", "'quote\"", "%_like", String(repeating: "x", count: 255)] {
                try store.addEntry(DirectoryEntry(name: name, handle: .root, kind: .file), in: directory.handle)
                #expect(try store.entry(in: directory.handle, named: name)?.name == name)
            }
            // LIKE wildcards and case are not matched loosely.
            #expect(try store.entry(in: directory.handle, named: "%") == nil)
            #expect(try store.entry(in: directory.handle, named: "ÜMLAUT") == nil)
        }
    }

    @Test func thePoolHandsOutEachDatafileOnceAndKeepsTheRest() throws {
        try withStore { store, path in
            let ofOne = (10..<13).map { ObjectHandle(server: 1, serial: UInt64($0)) }
            let ofThree = [ObjectHandle(server: 3, serial: 5)]
            try store.addToPool(ofOne + ofThree)
            let taken = try store.takeFromPool(servers: [1, 3, 0])
            #expect(taken == [ofOne[0], ofThree[0], nil])
            #expect(try store.takeFromPool(servers: [3]) == [nil])
            // What is left is in the database: a reopened store has it.
            try store.close()
            let reopened = try SQLiteMetadataStore(path: path, serverIndex: 2)
            #expect(try reopened.pooledDatafiles() == Array(ofOne.dropFirst()))
            try reopened.addToPool([ofOne[0]])
            #expect(try reopened.pooledDatafiles() == ofOne)
        }
    }

    /// Recorded replies outlive a reopening; a client's replies far behind
    /// its newest request, and those of clients silent for a day, are dropped.
    @Test func recordedRepliesAreKeptForRecentRequestsOnly() throws {
        try withStore { store, path in
            try store.recordReply([1, 2, 3], client: 5, request: 10, at: now)
            try store.recordReply([4], client: 6, request: 10, at: now)
            try store.close()
            let reopened = try SQLiteMetadataStore(path: path, serverIndex: 2)
            #expect(try reopened.recordedReply(client: 5, request: 10) == [1, 2, 3])
            #expect(try reopened.recordedReply(client: 5, request: 11) == nil)
            // Dropped in batches: kept until enough newer replies came.
            try reopened.recordReply([9], client: 5, request: 10 + RecordedReplies.window + 1, at: now)
            #expect(try reopened.recordedReply(client: 5, request: 10) == [1, 2, 3])
            for later in 2...UInt64(RecordedReplies.trimmedEvery) {
                try reopened.recordReply([9], client: 5, request: 10 + RecordedReplies.window + later, at: now)
            }
            #expect(try reopened.recordedReply(client: 5, request: 10) == nil)
            #expect(try reopened.recordedReply(client: 5, request: 11 + RecordedReplies.window) == [9])
            #expect(try reopened.recordedReply(client: 6, request: 10) == [4])
            let dayLater = Timestamp(seconds: now.seconds + RecordedReplies.idleSeconds + 1)
            for request in 1...UInt64(256 - RecordedReplies.trimmedEvery) {
                try reopened.recordReply([7], client: 8, request: request, at: dayLater)
            }
            #expect(try reopened.recordedReply(client: 6, request: 10) == nil)
            #expect(try reopened.recordedReply(client: 8, request: UInt64(256 - RecordedReplies.trimmedEvery)) == [7])
        }
    }

    /// Two clients that record in turn each have their old replies dropped
    /// (a count shared by the store gave every 64th record to the same one).
    @Test func clientsRecordingInTurnEachHaveTheirOldRepliesDropped() throws {
        try withStore { store, _ in
            for client: UInt64 in [1, 2] { try store.recordReply([1], client: client, request: 1, at: now) }
            for step in 1...UInt64(RecordedReplies.trimmedEvery) {
                for client: UInt64 in [1, 2] {
                    try store.recordReply([2], client: client, request: 1 + RecordedReplies.window + step, at: now)
                }
            }
            for client: UInt64 in [1, 2] {
                #expect(try store.recordedReply(client: client, request: 1) == nil, "client \(client)'s oldest reply")
            }
        }
    }

    @Test func aGroupCommitKeepsWhatSucceededAndUndoesOnlyWhatFailed() throws {
        try withStore { store, path in
            let directory = try store.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now))
            let file = NewObject(kind: .file, mode: 0o644, uid: 0, gid: 0, time: now)
            let made = try store.sharingOneCommit {
                let first = try store.create(file, named: "a", in: directory.handle)
                // The same name again fails inside the group and takes back only its own changes.
                #expect(throws: FSError.self) { try store.create(file, named: "a", in: directory.handle) }
                let second = try store.create(file, named: "b", in: directory.handle)
                // Reads inside the group see the group's changes.
                #expect(try store.entry(in: directory.handle, named: "b")?.handle == second.handle)
                return [first, second]
            }
            try store.close()
            let reopened = try SQLiteMetadataStore(path: path, serverIndex: 2)
            #expect(try reopened.entries(in: directory.handle, after: nil, limit: 10).entries.map(\.name) == ["a", "b"])
            #expect(try made.allSatisfy { try reopened.attributes(of: $0.handle) != nil })
            #expect(try reopened.attributes(of: directory.handle)?.size == 2)

            // When the group itself fails, none of it is kept.
            struct Abandon: Error {}
            #expect(throws: FSError.self) {
                try reopened.sharingOneCommit {
                    _ = try reopened.create(file, named: "c", in: directory.handle)
                    throw Abandon()
                }
            }
            #expect(try reopened.entry(in: directory.handle, named: "c") == nil)
        }
    }

    /// Replacing every row from a snapshot takes the connection for a
    /// transaction of its own: asked inside a shared commit (a serving loop
    /// that put a copy's last snapshot piece in with other requests), it
    /// fails with an error that says so instead of trapping the server, and
    /// the commit's other changes are kept.
    @Test func aSnapshotReplacedInsideASharedCommitFailsWithoutTakingTheServerDown() throws {
        try withStore { store, path in
            let directory = try store.createObject(NewObject(kind: .directory, mode: 0o755, uid: 0, gid: 0, time: now))
            let snapshot = path + ".snapshot"
            try store.snapshot(to: snapshot) {}
            let file = NewObject(kind: .file, mode: 0o644, uid: 0, gid: 0, time: now)
            try store.sharingOneCommit {
                _ = try store.create(file, named: "kept", in: directory.handle)
                let refusal = #expect(throws: FSError.self) { try store.replaceReplicatedRows(from: snapshot) }
                #expect(refusal?.message.contains("inside a commit shared") == true)
            }
            #expect(try store.entry(in: directory.handle, named: "kept") != nil)
            // Outside the commit the same snapshot replaces the rows: the file made after it is gone.
            try store.replaceReplicatedRows(from: snapshot)
            #expect(try store.entry(in: directory.handle, named: "kept") == nil)
        }
    }

    /// A store that does not sync every commit checkpoints its log rarely,
    /// so on a small disk the log fills it first: a change that finds the
    /// disk full gives up the reserve, empties the log into the database
    /// and commits, and the reserve is made again in the room the log left.
    @Test func aLogThatFillsTheDiskIsEmptiedForTheNextChange() throws {
        try withSmallTmpfs(bytes: 1 << 20) { folder in
            let reserve = folder + "/reserve"
            let store = try SQLiteMetadataStore(
                path: folder + "/metadata.sqlite", serverIndex: 2, reservePath: reserve, reserveBytes: 64 << 10, syncsEveryCommit: false)
            let file = try store.createObject(NewObject(kind: .file, mode: 0o644, uid: 1, gid: 1, time: now))
            // Each commit adds at least a page of 4 KiB to the log: 600 of them do not fit in 1 MiB.
            for step in 1...600 {
                try store.touch(file.handle, at: Timestamp(seconds: now.seconds + Int64(step)))
            }
            #expect(try store.attributes(of: file.handle)?.modifyTime == Timestamp(seconds: now.seconds + 600))
            let log = try FileManager.default.attributesOfItem(atPath: folder + "/metadata.sqlite-wal")[.size] as? Int ?? 0
            #expect(log < 1 << 20)
            #expect(FileManager.default.fileExists(atPath: reserve))
        }
    }

    /// A commit is in the database's files when it returns, whatever its
    /// size and with or without a sync per commit: the WAL's frames of one
    /// commit are written together, in pieces the system's SQLite takes (a
    /// piece of 128 KiB or more was once taken for a full disk), and a
    /// transaction too large for SQLite's cache, whose frames SQLite
    /// rewrites in place at its commit, loses none of them. A copy of the
    /// files made right after each commit, as a killed server leaves them,
    /// opens with every row.
    @Test(arguments: [true, false]) func everyCommitIsInTheFilesWhenItReturns(syncsEveryCommit: Bool) throws {
        let folder = NSTemporaryDirectory() + "trellis-metadata-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/metadata.sqlite"
        let store = try SQLiteMetadataStore(path: path, serverIndex: 2, syncsEveryCommit: syncsEveryCommit)
        var made: [ObjectAttributes] = []
        for count in [1, 3, 40, 3_000, 1, 30_000, 1] {
            made += try store.sharingOneCommit {
                try (0..<count).map { index in
                    try store.createObject(NewObject(kind: .file, mode: 0o600, uid: UInt32(index), gid: 7, time: now))
                }
            }
            let copy = path + ".after-\(made.count)"
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            if FileManager.default.fileExists(atPath: path + "-wal") {
                try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
            }
            let reopened = try SQLiteMetadataStore(path: copy, serverIndex: 2)
            #expect(try reopened.objectCount() == made.count, "after a commit of \(count), syncing each commit: \(syncsEveryCommit)")
            for object in made where object.uid % 997 == 0 || object.uid == UInt32(count - 1) {
                #expect(try reopened.attributes(of: object.handle) == object)
            }
            try reopened.close()
        }
        try store.close()
    }
}
