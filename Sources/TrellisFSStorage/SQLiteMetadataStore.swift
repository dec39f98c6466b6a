import CSQLiteChanges
import Foundation
import GRDB
import GRDBSQLite
import Synchronization
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisSystem

/// The metadata of one server in SQLite (through GRDB): a table of objects
/// and a table of directory entries, in WAL mode with `synchronous = FULL`,
/// so a change is on disk before the call returns, held by its store alone
/// (`locking_mode = EXCLUSIVE`) until `close`. When it records changes,
/// every commit's rows go to `committed` as a changeset before the change
/// returns, for a replica to apply (`apply`).
public final class SQLiteMetadataStore: MetadataStore, @unchecked Sendable {
    let database: DatabaseQueue
    /// Called with each commit's changes, after the commit and while the database is still held; nil when changes are not recorded.
    private let committed: (@Sendable (Changeset) -> Void)?
    /// Whether a commit starting now records its changes for `committed` (a copy that only applies its primary's need not).
    private let recordsChanges: @Sendable () -> Bool
    /// Set while a changeset is applied, so the triggers that keep counts leave
    /// the counts to the changeset, which already holds the primary's.
    let applying: ApplyingFlag
    /// The server whose handles this store makes.
    public let serverIndex: Int
    /// The database file.
    public let path: String
    private let reserve: SpaceReserve?
    /// The record of each commit's rows, on the connection for as long as it is open; nil when changes are not recorded.
    private let recording: ChangeRecording?
    /// The columns of each table a changeset applied here touched, read once.
    private let appliedSchemas = Mutex<[String: ChangesetApplier.TableSchema]>([:])
    /// The connection of an open group commit and the thread that opened it:
    /// other threads' changes wait for the group to end, in their own commits.
    private let group = Mutex<(owner: pthread_t, database: UncheckedDatabase)?>(nil)
    /// Replies recorded since this store opened: the silent clients' are dropped every so many (`RecordedReplies`).
    let repliesRecorded = Atomic<Int>(0)
    /// Replies recorded per client since its last ones past the window were dropped.
    let repliesSinceTrim = Mutex<[Int64: Int]>([:])

    /// WAL pages between checkpoints of a store that does not sync every
    /// commit. SQLite's 1,000 made a replicated create's commits copy the
    /// same hot pages (indexes, the directory's row) back into the database
    /// every few hundred creates, on the serving thread: with 20,000, creates
    /// with two copies went 1,829 – 2,142 → 2,449 – 2,572/s and their server
    /// CPU 798 – 869 → 656 – 710 µs (`trellis bench meta --replicas 2 --files
    /// 6000 --bytes 0 --layouts unique`, two runs each, alternating). A store
    /// that syncs every commit gained nothing, so it keeps SQLite's default.
    static let unsyncedCheckpointPages = 20_000

    /// The page size of a new database: `TRELLIS_METADATA_PAGE_BYTES`, else
    /// 1 KiB. A create changes one row in each of six or seven B-trees (the
    /// object, its entry, the directory's row, the serial counter, the pool,
    /// the recorded reply and its index), and every changed page goes to the
    /// WAL whole, on each copy: with SQLite's 4 KiB that was about 30 KiB
    /// of WAL per create. With 1 KiB, creates with two copies went
    /// 4,016 – 4,425 → 4,423 – 5,506/s in one shared directory and
    /// 3,639 – 4,431 → 4,044 – 4,795/s in a directory per client, their
    /// server CPU 305 – 340 → 253 – 295 µs and 392 – 463 → 350 – 417 µs
    /// (`trellis bench meta --replicas 2 --files 1500 --bytes 0`, four
    /// rounds alternating); stat, list and read rates did not move beyond
    /// the noise.
    static var pageBytes: Int {
        let configured = ProcessEnvironment.value("TRELLIS_METADATA_PAGE_BYTES").flatMap(Int.init) ?? 1024
        // SQLite takes powers of two from 512 to 65,536 and ignores anything else.
        return configured.nonzeroBitCount == 1 ? min(max(configured, 512), 65_536) : 1024
    }

    /// Opens (or makes) the database at `path` for server `serverIndex`.
    /// `reservePath` names a file of `reserveBytes` kept so that, when the
    /// disk fills, metadata changes (removing files first of all) can still
    /// commit: it is given up on a full disk and made again when there is room.
    /// `committed`, when given, receives the changes of every commit made
    /// while `recordsChanges` says so.
    /// `syncsEveryCommit` false leaves commits in the WAL until SQLite's
    /// checkpoint syncs them (`synchronous = NORMAL`): for replicas that
    /// count on each other, not on their disks, to keep a change.
    public init(
        path: String, serverIndex: Int, reservePath: String? = nil, reserveBytes: Int = 1 << 20, syncsEveryCommit: Bool = true,
        committed: (@Sendable (Changeset) -> Void)? = nil, recordsChanges: @escaping @Sendable () -> Bool = { true }
    ) throws {
        let applying = ApplyingFlag()
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // Its server is the database's one user: a lock taken once, not two to six fcntl calls per transaction.
            try db.execute(sql: "PRAGMA locking_mode = EXCLUSIVE")
            // Before the first table: a database made earlier keeps the page size it was made with.
            try db.execute(sql: "PRAGMA page_size = \(Self.pageBytes)")
            try db.execute(sql: "PRAGMA synchronous = \(syncsEveryCommit ? "FULL" : "NORMAL")")
            if !syncsEveryCommit { try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Self.unsyncedCheckpointPages)") }
            db.add(function: DatabaseFunction(Self.applyingFunction, argumentCount: 0) { _ in applying.isSet })
        }
        configuration.busyMode = .timeout(10)
        // Each WAL commit in one write rather than two per page (wal_writes.c); without it, the same, slower.
        _ = trellis_gather_wal_writes()
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try database.writeWithoutTransaction { db in _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
            try Self.migrator.migrate(database)
            recording = committed == nil ? nil : try database.writeWithoutTransaction { db in try ChangeRecording(db) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw FSError(.ioError, "metadata database \(path) is held by another process (a server already running on this folder?)")
        } catch {
            throw Self.storageError(error, doing: "opening metadata database \(path)")
        }
        self.serverIndex = serverIndex
        self.path = path
        self.committed = committed
        self.recordsChanges = recordsChanges
        self.applying = applying
        reserve = reservePath.map { SpaceReserve(path: $0, bytes: reserveBytes) }
        reserve?.refill()
    }

    deinit {
        // Nothing else holds the store now, so its connection is free: no
        // going through the database's queue, which may be this thread's.
        recording?.close()
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("objects and entries") { db in
            try db.execute(sql: """
                CREATE TABLE object (
                    serial INTEGER PRIMARY KEY,
                    kind INTEGER NOT NULL,
                    mode INTEGER NOT NULL,
                    uid INTEGER NOT NULL,
                    gid INTEGER NOT NULL,
                    atime INTEGER NOT NULL, atimeNanos INTEGER NOT NULL,
                    mtime INTEGER NOT NULL, mtimeNanos INTEGER NOT NULL,
                    ctime INTEGER NOT NULL, ctimeNanos INTEGER NOT NULL,
                    linkCount INTEGER NOT NULL,
                    distribution BLOB,
                    linkTarget TEXT
                );
                CREATE TABLE entry (
                    directory INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    handle INTEGER NOT NULL,
                    kind INTEGER NOT NULL,
                    PRIMARY KEY (directory, name)
                ) WITHOUT ROWID;
                CREATE TABLE serialCounter (next INTEGER NOT NULL);
                INSERT INTO serialCounter (next) VALUES (2);
                """)
        }
        migrator.registerMigration("datafile objects") { db in
            // A file's datafile handles, packed little-endian in distribution order.
            try db.execute(sql: "ALTER TABLE object ADD COLUMN datafiles BLOB")
        }
        migrator.registerMigration("extended attributes") { db in
            try db.execute(sql: """
                CREATE TABLE xattr (
                    object INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    value BLOB NOT NULL,
                    PRIMARY KEY (object, name)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("directory entry counts") { db in
            // A directory's size is its entry count: kept in its row by triggers, so asking
            // for a directory's attributes (every permission check does) never counts a huge one.
            try db.execute(sql: """
                ALTER TABLE object ADD COLUMN entryCount INTEGER NOT NULL DEFAULT 0;
                UPDATE object SET entryCount = (SELECT COUNT(*) FROM entry WHERE entry.directory = object.serial) WHERE kind = \(ObjectKind.directory.rawValue);
                \(countTrigger("entryAdded", of: "entryCount", added: true))
                \(countTrigger("entryRemoved", of: "entryCount", added: false))
                """)
        }
        migrator.registerMigration("datafile pool") { db in
            // Datafiles other servers made ahead for this server's new files (OrangeFS's precreate pools).
            try db.execute(sql: "CREATE TABLE datafilePool (server INTEGER NOT NULL, handle INTEGER NOT NULL, PRIMARY KEY (server, handle)) WITHOUT ROWID")
        }
        migrator.registerMigration("special files and directory link counts") { db in
            // A device node's number; and a directory's subdirectories, kept by triggers like its
            // entry count, since its link count (2 plus one per subdirectory's "..") is asked on every stat.
            let directory = ObjectKind.directory.rawValue
            try db.execute(sql: """
                ALTER TABLE object ADD COLUMN rdev INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE object ADD COLUMN subdirectoryCount INTEGER NOT NULL DEFAULT 0;
                UPDATE object SET subdirectoryCount = (SELECT COUNT(*) FROM entry WHERE entry.directory = object.serial AND entry.kind = \(directory))
                    WHERE kind = \(directory);
                \(countTrigger("subdirectoryAdded", of: "subdirectoryCount", added: true, when: "ROW.kind = \(directory)"))
                \(countTrigger("subdirectoryRemoved", of: "subdirectoryCount", added: false, when: "ROW.kind = \(directory)"))
                """)
        }
        migrator.registerMigration("rows a changeset can carry") { db in
            // A changeset carries only rows of tables with a primary key, and the
            // triggers must not count again what an applied changeset already counted.
            let directory = ObjectKind.directory.rawValue
            let notApplying = "NOT \(applyingFunction)()"
            try db.execute(sql: """
                CREATE TABLE keyedSerialCounter (slot INTEGER PRIMARY KEY CHECK (slot = 0), next INTEGER NOT NULL);
                INSERT INTO keyedSerialCounter (slot, next) SELECT 0, next FROM serialCounter;
                DROP TABLE serialCounter;
                ALTER TABLE keyedSerialCounter RENAME TO serialCounter;
                DROP TRIGGER entryAdded;
                DROP TRIGGER entryRemoved;
                DROP TRIGGER subdirectoryAdded;
                DROP TRIGGER subdirectoryRemoved;
                \(countTrigger("entryAdded", of: "entryCount", added: true, when: notApplying))
                \(countTrigger("entryRemoved", of: "entryCount", added: false, when: notApplying))
                \(countTrigger("subdirectoryAdded", of: "subdirectoryCount", added: true, when: "ROW.kind = \(directory) AND \(notApplying)"))
                \(countTrigger("subdirectoryRemoved", of: "subdirectoryCount", added: false, when: "ROW.kind = \(directory) AND \(notApplying)"))
                """)
        }
        migrator.registerMigration("recorded replies") { db in
            // A replicated table (its name has no "local" prefix): a promoted replica answers resends too.
            try db.execute(sql: """
                CREATE TABLE reply (
                    client INTEGER NOT NULL,
                    request INTEGER NOT NULL,
                    time INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    PRIMARY KEY (client, request)
                ) WITHOUT ROWID;
                CREATE INDEX replyTime ON reply (time);
                """)
        }
        return migrator
    }

    /// A trigger that keeps one of a directory's counts (`column`) in its row
    /// as entries are added or removed, when `condition` (on the entry's
    /// `ROW`) holds.
    private static func countTrigger(_ name: String, of column: String, added: Bool, when condition: String? = nil) -> String {
        let (event, row, step) = added ? ("INSERT", "NEW", "+") : ("DELETE", "OLD", "-")
        let when = condition.map { " WHEN " + $0.replacingOccurrences(of: "ROW.", with: "\(row).") } ?? ""
        return """
            CREATE TRIGGER \(name) AFTER \(event) ON entry\(when) BEGIN
                UPDATE object SET \(column) = \(column) \(step) 1 WHERE serial = \(row).directory;
            END;
            """
    }

    /// The SQL function the count triggers ask whether a changeset is being applied.
    private static let applyingFunction = "trellisApplyingChangeset"

    // MARK: Objects

    public func createObject(_ object: NewObject) throws -> ObjectAttributes {
        try write("creating an object") { db in try insertNew(object, db) }
    }

    public func createObject(_ object: NewObject, handle: ObjectHandle) throws -> ObjectAttributes {
        guard handle.server == serverIndex else {
            throw FSError(.invalidArgument, "handle \(handle) does not belong to server \(serverIndex)")
        }
        return try write("creating object \(handle)") { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM object WHERE serial = ?", arguments: [Int64(handle.serial)]) == true {
                throw FSError(.exists, "object \(handle) exists")
            }
            return try insert(object, serial: Int64(handle.serial), datafilesFrom: try nextSerials(object.datafilesToMake, db), db)
        }
    }

    public func create(_ object: NewObject, named name: String, in directory: ObjectHandle) throws -> ObjectAttributes {
        try write("creating \(name) in \(directory)") { db in
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM entry WHERE directory = ? AND name = ?"), arguments: [Int64(directory.serial), name]) == true {
                throw FSError(.exists, "\(name) exists in directory \(directory)")
            }
            let made = try insertNew(object, db)
            try insertEntry(DirectoryEntry(name: name, handle: made.handle, kind: made.kind), in: directory, db)
            try touch(directory, at: object.time, db)
            return made
        }
    }

    public func remove(named name: String, in directory: ObjectHandle, unlinking object: ObjectHandle?, at time: Timestamp) throws -> Unlinked {
        try write("removing \(name) from \(directory)") { db in
            try db.cachedStatement(sql: "DELETE FROM entry WHERE directory = ? AND name = ?").execute(arguments: [Int64(directory.serial), name])
            guard db.changesCount == 1 else { throw FSError(.notFound, "\(name) does not exist in directory \(directory)") }
            try touch(directory, at: time, db)
            guard let object, object.server == serverIndex else { return .nothing }
            return try unlink(serial: Int64(object.serial), at: time, db)
        }
    }

    public func unlink(_ handle: ObjectHandle, at time: Timestamp) throws -> Unlinked {
        try write("unlinking \(handle)") { db in
            guard handle.server == serverIndex else { return .nothing }
            return try unlink(serial: Int64(handle.serial), at: time, db)
        }
    }

    private func unlink(serial: Int64, at time: Timestamp, _ db: Database) throws -> Unlinked {
        guard let object = try attributes(serial: serial, db) else { return .nothing }
        if object.kind == .directory || object.linkCount <= 1 {
            try deleteObject(serial: serial, db)
            return Unlinked(remainingLinks: 0, deleted: object)
        }
        try db.cachedStatement(sql: "UPDATE object SET linkCount = linkCount - 1, ctime = ?, ctimeNanos = ? WHERE serial = ?").execute(
            arguments: [time.seconds, Int64(time.nanoseconds), serial])
        return Unlinked(remainingLinks: object.linkCount - 1, deleted: nil)
    }

    public func link(_ handle: ObjectHandle, entry: (name: String, directory: ObjectHandle)?, maximumLinks: UInt32, at time: Timestamp) throws -> ObjectAttributes {
        try write("linking \(handle)") { db in
            let serial = Int64(handle.serial)
            guard handle.server == serverIndex, let object = try attributes(serial: serial, db) else {
                throw FSError(.staleHandle, "object \(handle) does not exist on server \(serverIndex)")
            }
            guard object.kind.takesHardLinks else {
                throw FSError(.notPermitted, "object \(handle) is a \(object.kind): directories take no hard links")
            }
            guard object.linkCount < maximumLinks else { throw FSError(.linkLimit, "object \(handle) has \(object.linkCount) links, the most it may have") }
            if let entry {
                if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM entry WHERE directory = ? AND name = ?"), arguments: [Int64(entry.directory.serial), entry.name]) == true {
                    throw FSError(.exists, "\(entry.name) exists in directory \(entry.directory)")
                }
                try insertEntry(DirectoryEntry(name: entry.name, handle: handle, kind: object.kind), in: entry.directory, db)
                try touch(entry.directory, at: time, db)
            }
            try db.cachedStatement(sql: "UPDATE object SET linkCount = linkCount + 1, ctime = ?, ctimeNanos = ? WHERE serial = ?").execute(
                arguments: [time.seconds, Int64(time.nanoseconds), serial])
            return try attributes(serial: serial, db)!
        }
    }

    /// So that no one request holds the database for long.
    public static let maximumDatafilesAtOnce = 1024

    public func createDatafiles(count: Int, at time: Timestamp) throws -> [ObjectHandle] {
        guard count >= 0, count <= Self.maximumDatafilesAtOnce else {
            throw FSError(.invalidArgument, "\(count) datafiles at once: at most \(Self.maximumDatafilesAtOnce) are made in one transaction")
        }
        return try write("creating \(count) datafiles") { db in
            let first = try nextSerials(count, db)
            return try (0..<Int64(count)).map { try insertDatafile(serial: first + $0, at: time, db) }
        }
    }

    public func isDatafile(_ handle: ObjectHandle) throws -> Bool {
        guard handle.server == serverIndex else { return false }
        return try read("checking datafile \(handle)") { db in
            try Int.fetchOne(db.cachedStatement(sql: "SELECT kind FROM object WHERE serial = ?"), arguments: [Int64(handle.serial)]) == Int(ObjectKind.datafile.rawValue)
        }
    }

    public func deleteDatafiles(_ handles: [ObjectHandle]) throws {
        try write("deleting \(handles.count) datafiles") { db in try deleteDatafiles(handles, db) }
    }

    public func spread(_ file: ObjectHandle, adding datafiles: [ObjectHandle?], at time: Timestamp) throws -> ObjectAttributes {
        try write("spreading \(file)") { db in
            guard file.server == serverIndex, let current = try attributes(serial: Int64(file.serial), db), current.kind == .file,
                  let distribution = current.distribution
            else { throw FSError(.staleHandle, "file \(file) does not exist on server \(serverIndex)") }
            guard current.isStuffed else { throw FSError(.exists, "file \(file) has all its datafiles already") }
            guard current.datafiles.count + datafiles.count == distribution.datafileCount else {
                throw FSError(.invalidArgument, "file \(file) needs \(distribution.datafileCount - current.datafiles.count) more datafiles, not \(datafiles.count)")
            }
            let added = try datafiles.map { try $0 ?? makeDatafile(at: time, db) }
            try db.cachedStatement(sql: "UPDATE object SET datafiles = ? WHERE serial = ?").execute(arguments: [Self.encode(current.datafiles + added), Int64(file.serial)])
            return try attributes(serial: Int64(file.serial), db)!
        }
    }

    /// The first of `count` serials in a row. Serials are never reused, so a
    /// stale handle can never name a new object; serial 1 is kept for the
    /// root. The next free serial is the one after the newest object, or
    /// the counter's when that is higher: the counter moves only when the
    /// newest object is deleted (`retireSerial`), not on every create, which
    /// spares each create's commit a page on every copy.
    private func nextSerials(_ count: Int, _ db: Database) throws -> Int64 {
        let next = try nextFreeSerial(db)
        guard next + Int64(count) <= Int64(1) << 48 else {
            throw FSError(.noSpace, "server \(serverIndex) has used up its handle range")
        }
        return next
    }

    /// The lowest serial no object has had.
    private func nextFreeSerial(_ db: Database) throws -> Int64 {
        let counter = try Int64.fetchOne(db.cachedStatement(sql: "SELECT next FROM serialCounter")) ?? 2
        return max(counter, (try newestSerial(db) ?? 0) + 1)
    }

    /// The serial of the newest object here (serial is the rowid: one step down the B-tree).
    private func newestSerial(_ db: Database) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(serial) FROM object"))
    }

    /// Before object `serial` is deleted: if it is the newest, the counter
    /// moves past it, so that its serial is not given out again. Only the
    /// newest itself: a made-up serial above it (a handle from a client
    /// names any number) must not use up the range.
    private func retireSerial(_ serial: Int64, _ db: Database) throws {
        guard let newest = try newestSerial(db), serial == newest else { return }
        try db.cachedStatement(sql: "UPDATE serialCounter SET next = ? WHERE next <= ?").execute(arguments: [serial + 1, serial])
    }

    private func makeDatafile(at time: Timestamp, _ db: Database) throws -> ObjectHandle {
        try insertDatafile(serial: try nextSerials(1, db), at: time, db)
    }

    private func insertDatafile(serial: Int64, at time: Timestamp, _ db: Database) throws -> ObjectHandle {
        try insertRow(NewObject(kind: .datafile, mode: 0, uid: 0, gid: 0, time: time), serial: serial, datafiles: [], db)
        return ObjectHandle(server: serverIndex, serial: UInt64(serial))
    }

    private func deleteDatafiles(_ handles: [ObjectHandle], _ db: Database) throws {
        for handle in handles where handle.server == serverIndex {
            try retireSerial(Int64(handle.serial), db)
            try db.cachedStatement(sql: "DELETE FROM object WHERE serial = ? AND kind = ?").execute(arguments: [Int64(handle.serial), Int(ObjectKind.datafile.rawValue)])
        }
    }

    /// A new object with new serials for it and the datafiles it makes here.
    private func insertNew(_ object: NewObject, _ db: Database) throws -> ObjectAttributes {
        let first = try nextSerials(1 + object.datafilesToMake, db)
        return try insert(object, serial: first, datafilesFrom: first + 1, db)
    }

    /// `object` as `serial`, the datafiles it makes here as `datafilesFrom` and on.
    private func insert(_ object: NewObject, serial: Int64, datafilesFrom first: Int64, _ db: Database) throws -> ObjectAttributes {
        let time = object.time
        var next = first
        let datafiles = try object.datafiles.map { slot in
            if let slot { return slot }
            defer { next += 1 }
            return try insertDatafile(serial: next, at: time, db)
        }
        try insertRow(object, serial: serial, datafiles: datafiles, db)
        return try attributes(serial: serial, db)!
    }

    private func insertRow(_ object: NewObject, serial: Int64, datafiles: [ObjectHandle], _ db: Database) throws {
        let time = object.time
        try db.cachedStatement(
            sql: """
                INSERT INTO object (serial, kind, mode, uid, gid, atime, atimeNanos, mtime, mtimeNanos, ctime, ctimeNanos, linkCount, distribution, linkTarget, datafiles, rdev)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(
            arguments: [
                serial, Int(object.kind.rawValue), Int64(object.mode), Int64(object.uid), Int64(object.gid),
                time.seconds, Int64(time.nanoseconds), time.seconds, Int64(time.nanoseconds), time.seconds, Int64(time.nanoseconds),
                object.kind == .directory ? 2 : 1, object.distribution.map(Self.encode), object.linkTarget,
                datafiles.isEmpty ? nil : Self.encode(datafiles), Int64(bitPattern: object.rdev),
            ])
    }

    public func attributes(of handle: ObjectHandle) throws -> ObjectAttributes? {
        guard handle.server == serverIndex else { return nil }
        return try read("reading object \(handle)") { db in try attributes(serial: Int64(handle.serial), db) }
    }

    private static let attributeColumns =
        "kind, mode, uid, gid, atime, atimeNanos, mtime, mtimeNanos, ctime, ctimeNanos, linkCount, distribution, linkTarget, datafiles, entryCount, rdev, subdirectoryCount"

    /// Every request reads attributes, often several: a cached statement
    /// stepped through SQLite's own calls keeps GRDB from compiling SQL,
    /// hashing column names and decoding each column through a dynamic cast
    /// (a tenth of what a replicated create cost its primary).
    private func attributes(serial: Int64, _ db: Database) throws -> ObjectAttributes? {
        let statement = try db.cachedStatement(sql: "SELECT \(Self.attributeColumns) FROM object WHERE serial = ?")
        let row = statement.sqliteStatement
        sqlite3_reset(row)
        defer { sqlite3_reset(row) }
        sqlite3_bind_int64(row, 1, serial)
        let code = sqlite3_step(row)
        if code == SQLITE_DONE { return nil }
        guard code == SQLITE_ROW else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
        func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(row, column) }
        func isNull(_ column: Int32) -> Bool { sqlite3_column_type(row, column) == SQLITE_NULL }
        func bytes(_ column: Int32) -> Data? {
            guard !isNull(column) else { return nil }
            let start = sqlite3_column_blob(row, column)
            let count = Int(sqlite3_column_bytes(row, column))
            return start.map { Data(bytes: $0, count: count) } ?? Data()
        }
        let handle = ObjectHandle(server: serverIndex, serial: UInt64(serial))
        guard let kind = ObjectKind(rawValue: UInt8(truncatingIfNeeded: integer(0))) else {
            throw FSError(.ioError, "object \(handle) has an unknown kind in the metadata database")
        }
        var size: UInt64 = 0
        var linkCount = UInt32(truncatingIfNeeded: integer(10))
        if kind == .directory {
            size = UInt64(integer(14))
            linkCount = 2 + UInt32(truncatingIfNeeded: integer(16))
        } else if kind == .symlink, !isNull(12) {
            size = UInt64(sqlite3_column_bytes(row, 12))
        }
        let distribution: Distribution? = try bytes(11).map(Self.decode)
        let datafiles = bytes(13).map(Self.decodeHandles) ?? []
        return ObjectAttributes(
            handle: handle, kind: kind, mode: UInt32(truncatingIfNeeded: integer(1)), uid: UInt32(truncatingIfNeeded: integer(2)),
            gid: UInt32(truncatingIfNeeded: integer(3)),
            accessTime: Timestamp(seconds: integer(4), nanoseconds: UInt32(truncatingIfNeeded: integer(5))),
            modifyTime: Timestamp(seconds: integer(6), nanoseconds: UInt32(truncatingIfNeeded: integer(7))),
            changeTime: Timestamp(seconds: integer(8), nanoseconds: UInt32(truncatingIfNeeded: integer(9))),
            linkCount: linkCount, size: size, distribution: distribution, datafiles: datafiles,
            sizeIsKnown: kind != .file, rdev: UInt64(bitPattern: integer(15)))
    }

    public func linkTarget(of handle: ObjectHandle) throws -> String? {
        guard handle.server == serverIndex else { return nil }
        return try read("reading link \(handle)") { db in
            try String.fetchOne(db, sql: "SELECT linkTarget FROM object WHERE serial = ?", arguments: [Int64(handle.serial)])
        }
    }

    public func update(_ handle: ObjectHandle, _ changes: AttributeChanges, at time: Timestamp) throws -> ObjectAttributes {
        try write("changing attributes of \(handle)") { db in
            let serial = Int64(handle.serial)
            guard handle.server == serverIndex, try attributes(serial: serial, db) != nil else {
                throw FSError(.notFound, "object \(handle) does not exist")
            }
            var assignments = ["ctime = ?", "ctimeNanos = ?"]
            var arguments: [any DatabaseValueConvertible] = [time.seconds, Int64(time.nanoseconds)]
            if let mode = changes.mode { assignments.append("mode = ?"); arguments.append(Int64(mode & 0o7777)) }
            if let uid = changes.uid { assignments.append("uid = ?"); arguments.append(Int64(uid)) }
            if let gid = changes.gid { assignments.append("gid = ?"); arguments.append(Int64(gid)) }
            func moment(_ change: TimeChange) -> Timestamp {
                switch change {
                case .now: time
                case .at(let moment): moment
                }
            }
            if let atime = changes.accessTime.map(moment) { assignments += ["atime = ?", "atimeNanos = ?"]; arguments += [atime.seconds, Int64(atime.nanoseconds)] }
            if let mtime = changes.modifyTime.map(moment) { assignments += ["mtime = ?", "mtimeNanos = ?"]; arguments += [mtime.seconds, Int64(mtime.nanoseconds)] }
            if let distribution = changes.distribution { assignments.append("distribution = ?"); arguments.append(Self.encode(distribution)) }
            arguments.append(serial)
            try db.cachedStatement(sql: "UPDATE object SET \(assignments.joined(separator: ", ")) WHERE serial = ?").execute(arguments: StatementArguments(arguments))
            return try attributes(serial: serial, db)!
        }
    }

    public func touch(_ handle: ObjectHandle, at time: Timestamp) throws {
        try write("touching \(handle)") { db in try touch(handle, at: time, db) }
    }

    private func touch(_ handle: ObjectHandle, at time: Timestamp, _ db: Database) throws {
        guard handle.server == serverIndex else { return }
        try db.cachedStatement(sql: "UPDATE object SET mtime = ?, mtimeNanos = ?, ctime = ?, ctimeNanos = ? WHERE serial = ?").execute(
            arguments: [time.seconds, Int64(time.nanoseconds), time.seconds, Int64(time.nanoseconds), Int64(handle.serial)])
    }

    public func deleteObject(_ handle: ObjectHandle) throws {
        try write("deleting \(handle)") { db in try deleteObject(serial: Int64(handle.serial), db) }
    }

    /// The object with its entries (a directory's), extended attributes and
    /// the datafiles of it that live here; their bstreams are the caller's to remove.
    private func deleteObject(serial: Int64, _ db: Database) throws {
        if let datafiles = try attributes(serial: serial, db)?.datafiles { try deleteDatafiles(datafiles, db) }
        try retireSerial(serial, db)
        try db.cachedStatement(sql: "DELETE FROM object WHERE serial = ?").execute(arguments: [serial])
        try db.cachedStatement(sql: "DELETE FROM entry WHERE directory = ?").execute(arguments: [serial])
        try db.cachedStatement(sql: "DELETE FROM xattr WHERE object = ?").execute(arguments: [serial])
    }

    // MARK: Extended attributes

    public func extendedAttribute(of handle: ObjectHandle, named name: String) throws -> [UInt8]? {
        try read("reading \(name) of \(handle)") { db in
            try Data.fetchOne(db, sql: "SELECT value FROM xattr WHERE object = ? AND name = ?", arguments: [Int64(handle.serial), name]).map { [UInt8]($0) }
        }
    }

    public func setExtendedAttribute(of handle: ObjectHandle, named name: String, value: [UInt8], mode: ExtendedAttributeName.SetMode, at time: Timestamp) throws {
        try write("setting \(name) of \(handle)") { db in
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM xattr WHERE object = ? AND name = ?", arguments: [Int64(handle.serial), name]) == true
            if exists && mode == .createOnly { throw FSError(.exists, "\(handle) has an extended attribute \(name) already") }
            if !exists && mode == .replaceOnly { throw FSError(.noAttribute, "\(handle) has no extended attribute \(name) to replace") }
            if !exists {
                let listBytes = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(LENGTH(CAST(name AS BLOB)) + 1), 0) FROM xattr WHERE object = ?", arguments: [Int64(handle.serial)]) ?? 0
                guard listBytes + name.utf8.count + 1 <= ExtendedAttributeName.maximumListBytes else {
                    throw FSError(.noSpace, "\(handle): the names of its extended attributes would pass \(ExtendedAttributeName.maximumListBytes) bytes")
                }
            }
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO xattr (object, name, value) VALUES (?, ?, ?)").execute(arguments: [Int64(handle.serial), name, Data(value)])
            try db.cachedStatement(sql: "UPDATE object SET ctime = ?, ctimeNanos = ? WHERE serial = ?").execute(arguments: [time.seconds, Int64(time.nanoseconds), Int64(handle.serial)])
        }
    }

    public func extendedAttributeNames(of handle: ObjectHandle) throws -> [String] {
        try read("listing the extended attributes of \(handle)") { db in
            try String.fetchAll(db, sql: "SELECT name FROM xattr WHERE object = ? ORDER BY name", arguments: [Int64(handle.serial)])
        }
    }

    public func removeExtendedAttribute(of handle: ObjectHandle, named name: String, at time: Timestamp) throws {
        try write("removing \(name) of \(handle)") { db in
            try db.cachedStatement(sql: "DELETE FROM xattr WHERE object = ? AND name = ?").execute(arguments: [Int64(handle.serial), name])
            guard db.changesCount == 1 else { throw FSError(.noAttribute, "\(handle) has no extended attribute \(name)") }
            try db.cachedStatement(sql: "UPDATE object SET ctime = ?, ctimeNanos = ? WHERE serial = ?").execute(arguments: [time.seconds, Int64(time.nanoseconds), Int64(handle.serial)])
        }
    }

    // MARK: Entries

    public func entry(in directory: ObjectHandle, named name: String) throws -> DirectoryEntry? {
        try read("looking up \(name) in \(directory)") { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT name, handle, kind FROM entry WHERE directory = ? AND name = ?"), arguments: [Int64(directory.serial), name])
                .flatMap(Self.entry)
        }
    }

    public func addEntry(_ entry: DirectoryEntry, in directory: ObjectHandle) throws {
        try write("adding \(entry.name) to \(directory)") { db in
            if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM entry WHERE directory = ? AND name = ?"), arguments: [Int64(directory.serial), entry.name]) == true {
                throw FSError(.exists, "\(entry.name) exists in directory \(directory)")
            }
            try insertEntry(entry, in: directory, db)
        }
    }

    private func insertEntry(_ entry: DirectoryEntry, in directory: ObjectHandle, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO entry (directory, name, handle, kind) VALUES (?, ?, ?, ?)").execute(
            arguments: [Int64(directory.serial), entry.name, Int64(bitPattern: entry.handle.rawValue), Int(entry.kind.rawValue)])
    }

    @discardableResult
    public func removeEntry(named name: String, in directory: ObjectHandle) throws -> DirectoryEntry {
        try write("removing \(name) from \(directory)") { db in
            guard let found = try Row.fetchOne(db.cachedStatement(sql: "SELECT name, handle, kind FROM entry WHERE directory = ? AND name = ?"), arguments: [Int64(directory.serial), name])
                .flatMap(Self.entry)
            else { throw FSError(.notFound, "\(name) does not exist in directory \(directory)") }
            try db.cachedStatement(sql: "DELETE FROM entry WHERE directory = ? AND name = ?").execute(arguments: [Int64(directory.serial), name])
            return found
        }
    }

    public func moveEntry(from: (ObjectHandle, String), to: (ObjectHandle, String)) throws -> DirectoryEntry? {
        try write("renaming \(from.1) to \(to.1)") { db in
            guard let moving = try Row.fetchOne(db.cachedStatement(sql: "SELECT name, handle, kind FROM entry WHERE directory = ? AND name = ?"), arguments: [Int64(from.0.serial), from.1])
                .flatMap(Self.entry)
            else { throw FSError(.notFound, "\(from.1) does not exist in directory \(from.0)") }
            let replaced = try Row.fetchOne(db.cachedStatement(sql: "SELECT name, handle, kind FROM entry WHERE directory = ? AND name = ?"), arguments: [Int64(to.0.serial), to.1])
                .flatMap(Self.entry)
            try db.cachedStatement(sql: "DELETE FROM entry WHERE directory = ? AND name = ?").execute(arguments: [Int64(to.0.serial), to.1])
            try db.cachedStatement(sql: "DELETE FROM entry WHERE directory = ? AND name = ?").execute(arguments: [Int64(from.0.serial), from.1])
            try db.cachedStatement(sql: "INSERT INTO entry (directory, name, handle, kind) VALUES (?, ?, ?, ?)").execute(
                arguments: [Int64(to.0.serial), to.1, Int64(bitPattern: moving.handle.rawValue), Int(moving.kind.rawValue)])
            return replaced
        }
    }

    public func replaceEntry(_ entry: DirectoryEntry, in directory: ObjectHandle) throws -> DirectoryEntry? {
        try write("replacing \(entry.name) in \(directory)") { db in
            let old = try Row.fetchOne(db.cachedStatement(sql: "SELECT name, handle, kind FROM entry WHERE directory = ? AND name = ?"), arguments: [Int64(directory.serial), entry.name])
                .flatMap(Self.entry)
            // A DELETE and an INSERT rather than INSERT OR REPLACE, whose implicit delete fires no trigger.
            try db.cachedStatement(sql: "DELETE FROM entry WHERE directory = ? AND name = ?").execute(arguments: [Int64(directory.serial), entry.name])
            try insertEntry(entry, in: directory, db)
            return old
        }
    }

    public func entries(in directory: ObjectHandle, after: String?, limit: Int) throws -> (entries: [DirectoryEntry], more: Bool) {
        try read("listing \(directory)") { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT name, handle, kind FROM entry WHERE directory = ? AND name > ? ORDER BY name LIMIT ?",
                arguments: [Int64(directory.serial), after ?? "", limit + 1])
            let found = rows.compactMap(Self.entry)
            return (Array(found.prefix(limit)), found.count > limit)
        }
    }

    /// A directory's entries here; 0 for another server's directory (whose
    /// serial may equal one of this server's objects).
    public func entryCount(in directory: ObjectHandle) throws -> Int {
        guard directory.server == serverIndex else { return 0 }
        return try read("counting \(directory)") { db in
            try Int.fetchOne(db, sql: "SELECT entryCount FROM object WHERE serial = ?", arguments: [Int64(directory.serial)]) ?? 0
        }
    }

    public func objectCount() throws -> Int {
        try read("counting objects") { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM object WHERE kind != ?", arguments: [Int(ObjectKind.datafile.rawValue)]) ?? 0 }
    }

    // MARK: Maintenance

    public func objects(after: ObjectHandle?, limit: Int) throws -> (objects: [ObjectAttributes], more: Bool) {
        try read("scanning objects") { db in
            let serials = try Int64.fetchAll(
                db, sql: "SELECT serial FROM object WHERE serial > ? ORDER BY serial LIMIT ?",
                arguments: [after.map { Int64($0.serial) } ?? 0, limit + 1])
            let found = try serials.prefix(limit).compactMap { try attributes(serial: $0, db) }
            return (found, serials.count > limit)
        }
    }

    public func entryRecords(after: EntryCursor?, limit: Int) throws -> (records: [EntryRecord], more: Bool) {
        try read("scanning entries") { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT name, handle, kind, directory FROM entry WHERE (directory, name) > (?, ?) ORDER BY directory, name LIMIT ?",
                arguments: [after.map { Int64($0.directory.serial) } ?? 0, after?.name ?? "", limit + 1])
            let records = rows.prefix(limit).compactMap { row in
                Self.entry(row).map { EntryRecord(directory: ObjectHandle(server: serverIndex, serial: UInt64(row[3] as Int64)), entry: $0) }
            }
            return (records, rows.count > limit)
        }
    }

    public func setLinkCount(_ handle: ObjectHandle, to count: UInt32) throws -> ObjectAttributes {
        try write("setting the link count of \(handle)") { db in
            guard handle.server == serverIndex, try attributes(serial: Int64(handle.serial), db) != nil else {
                throw FSError(.staleHandle, "object \(handle) does not exist on server \(serverIndex)")
            }
            try db.cachedStatement(sql: "UPDATE object SET linkCount = ? WHERE serial = ?").execute(arguments: [Int64(count), Int64(handle.serial)])
            return try attributes(serial: Int64(handle.serial), db)!
        }
    }

    public func restoreDatafiles(_ handles: [ObjectHandle], at time: Timestamp) throws {
        try write("restoring \(handles.count) datafiles") { db in
            // Only handles this server issued: a lost datafile's serial is below the counter, and a
            // made-up one above it would take serials that later objects will be given.
            let next = try nextFreeSerial(db)
            for handle in handles {
                guard handle.server == serverIndex, handle.serial > 1, Int64(handle.serial) < next else {
                    throw FSError(.invalidArgument, "\(handle) is not a handle that server \(serverIndex) has issued")
                }
                guard try attributes(serial: Int64(handle.serial), db) == nil else { continue }
                _ = try insertDatafile(serial: Int64(handle.serial), at: time, db)
            }
        }
    }

    // MARK: Helpers

    /// An entry from a row whose first columns are name, handle, kind.
    private static func entry(_ row: Row) -> DirectoryEntry? {
        guard let kind = ObjectKind(rawValue: UInt8(truncatingIfNeeded: row[2] as Int64)) else { return nil }
        return DirectoryEntry(name: row[0], handle: ObjectHandle(rawValue: UInt64(bitPattern: row[1] as Int64)), kind: kind)
    }

    private static func encode(_ distribution: Distribution) -> Data {
        var writer = WireWriter()
        writer.write(distribution)
        return Data(writer.buffer.readableBytesView)
    }

    private static func encode(_ handles: [ObjectHandle]) -> Data {
        var data = Data(capacity: handles.count * 8)
        for handle in handles { withUnsafeBytes(of: handle.rawValue.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    private static func decodeHandles(_ data: Data) -> [ObjectHandle] {
        stride(from: 0, to: data.count - data.count % 8, by: 8).map { start in
            ObjectHandle(rawValue: data[data.startIndex + start ..< data.startIndex + start + 8].enumerated().reduce(UInt64(0)) {
                $0 | UInt64($1.element) << (8 * UInt64($1.offset))
            })
        }
    }

    private static func decode(_ data: Data) throws -> Distribution {
        var reader = WireReader(.init(bytes: data))
        return try reader.read(Distribution.self)
    }

    public func sharingOneCommit<T>(_ body: () throws -> T) throws -> T {
        do {
            return try recordingCommit { db in
                group.withLock { $0 = (pthread_self(), UncheckedDatabase(database: db)) }
                CommitHolders.enter()
                defer {
                    CommitHolders.leave()
                    group.withLock { $0 = nil }
                }
                return try body()
            }
        } catch let error as FSError {
            throw error
        } catch {
            throw Self.storageError(error, doing: "committing a group of changes")
        }
    }

    /// Runs `body` in a transaction of its own, and hands what it changed to
    /// `committed` once it is committed (before the caller hears of it, and
    /// before any other commit).
    private func recordingCommit<T>(_ body: (Database) throws -> T) throws -> T {
        guard let committed, let recording, recordsChanges() else {
            return try database.writeWithoutTransaction { db in try Self.inTransaction(db) { try body(db) } }
        }
        return try database.writeWithoutTransaction { db in
            recording.begin()
            defer { recording.stop() }
            var changes = Changeset(bytes: Data())
            let result = try Self.inTransaction(db) {
                let result = try body(db)
                changes = try recording.changes()
                return result
            }
            // Still holding the connection, so commits reach `committed` in the order they were made.
            if !changes.isEmpty { committed(changes) }
            return result
        }
    }

    /// `body` in a transaction begun and ended by statements the connection
    /// keeps prepared: GRDB's own transactions compile BEGIN and COMMIT anew
    /// each time, about a twentieth of what a copy spent applying a change.
    private static func inTransaction<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
        do {
            let result = try body()
            try db.cachedStatement(sql: "COMMIT").execute()
            return result
        } catch {
            // A failed COMMIT can leave the transaction open; whatever failed, none of it stays.
            if db.isInsideTransaction { try? db.cachedStatement(sql: "ROLLBACK").execute() }
            throw error
        }
    }

    /// Applies a primary's changeset (in the open group commit, when this
    /// thread has one); returns how many rows were not as the changeset
    /// expected, which a replica in step with its primary never has. When
    /// this store records changes too, the applied rows are recorded.
    @discardableResult
    public func apply(_ changeset: Changeset) throws -> [RowConflict] {
        try write("applying a changeset of \(changeset.bytes.count) bytes") { db in
            try appliedSchemas.withLock { schemas in
                try whileApplying { try ChangeRecording.apply(changeset, to: db, schemas: &schemas) }
            }
        }
    }

    /// Closes the database, and with it the lock its store holds alone
    /// (`locking_mode = EXCLUSIVE`), so that another store may open it.
    public func close() throws {
        try database.close()
    }

    /// Whether this thread has a group commit open.
    public var holdsOpenGroup: Bool { groupDatabase() != nil }

    /// Runs `body` with the count triggers standing aside (the rows it writes bring their counts).
    func whileApplying<T>(_ body: () throws -> T) rethrows -> T {
        applying.set(true)
        defer { applying.set(false) }
        return try body()
    }

    /// Runs `body` on the connection outside any transaction, when no group commit is open.
    func withConnection<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        // The connection is this thread's already, inside a transaction: taking it again would trap.
        guard !holdsOpenGroup else { throw FSError(.ioError, "\(what) cannot run inside a commit shared with other requests") }
        do {
            return try database.writeWithoutTransaction(body)
        } catch let error as FSError {
            throw error
        } catch {
            throw Self.storageError(error, doing: what)
        }
    }

    /// Every row a changeset carries, table by table in key order, as text:
    /// equal for a replica in step with its primary (what a check of the
    /// replicas compares).
    public func replicatedRows() throws -> String {
        try read("listing the replicated rows") { db in
            let tables = try Self.replicatedTables(db)
            var text = ""
            for table in tables {
                let key = try db.primaryKey(table).columns.map { "\"\($0)\"" }.joined(separator: ", ")
                text += "\(table)\n"
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\" ORDER BY \(key)") { text += "\(row)\n" }
            }
            return text
        }
    }

    /// The open group's connection, when this thread opened it.
    private func groupDatabase() -> Database? {
        group.withLock { group in
            guard let group, pthread_equal(group.owner, pthread_self()) != 0 else { return nil }
            return group.database.database
        }
    }

    func write<T>(_ what: @autoclosure () -> String, _ body: (Database) throws -> T) throws -> T {
        let group = groupDatabase()
        func attempt() throws -> T {
            guard let group else { return try recordingCommit(body) }
            let mark = recording?.mark
            // Statements kept prepared: GRDB's inSavepoint prepares its two anew for every request of a group.
            try group.cachedStatement(sql: "SAVEPOINT request").execute()
            do {
                let result = try body(group)
                try group.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
                return result
            } catch {
                // The savepoint's rows are undone: so is their record.
                try? group.cachedStatement(sql: "ROLLBACK TO SAVEPOINT request").execute()
                try? group.cachedStatement(sql: "RELEASE SAVEPOINT request").execute()
                if let mark { recording?.rollBack(to: mark) }
                throw error
            }
        }
        do {
            let result: T
            do {
                result = try attempt()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
                result = try afterFreeingSpace(error, inGroup: group != nil, attempt)
            }
            reserve?.refillIfMissing()
            return result
        } catch let error as FSError {
            throw error
        } catch {
            throw Self.storageError(error, doing: what())
        }
    }

    /// `attempt` again once the disk that was full for it has room: the log
    /// emptied (a store that does not sync every commit checkpoints only every
    /// `unsyncedCheckpointPages`, so its log can hold MiBs the database
    /// file needs only a little of), else the reserve given up (and then the
    /// log emptied, which may need the database file to grow), so that this
    /// change (often a removal that frees space) can commit.
    private func afterFreeingSpace<T>(_ full: DatabaseError, inGroup: Bool, _ attempt: () throws -> T) throws -> T {
        // Inside a group commit the log cannot be emptied: the group fails, and its requests run one by one.
        func emptiedLog() -> Bool { !inGroup && (try? database.writeWithoutTransaction { try $0.checkpoint(.truncate) }) != nil }
        var failure = full
        if emptiedLog() {
            do {
                return try attempt()
            } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
                failure = error
            }
        }
        guard reserve?.release() == true else { throw failure }
        _ = emptiedLog()
        return try attempt()
    }

    func read<T>(_ what: @autoclosure () -> String, _ body: (Database) throws -> T) throws -> T {
        do {
            // One connection serializes every closure, so a read needs no transaction of its own.
            if let db = groupDatabase() { return try body(db) }
            return try database.inDatabase(body)
        } catch let error as FSError {
            throw error
        } catch {
            throw Self.storageError(error, doing: what())
        }
    }

    /// Whether a changeset is being applied, asked by the triggers from SQLite.
    final class ApplyingFlag: Sendable {
        private let value = Atomic<Bool>(false)
        var isSet: Bool { value.load(ordering: .relaxed) }
        func set(_ applying: Bool) { value.store(applying, ordering: .relaxed) }
    }

    /// A connection handed only to the thread that opened the group.
    private struct UncheckedDatabase: @unchecked Sendable {
        let database: Database
    }

    /// A full disk is `noSpace`; anything else the database says is `ioError`.
    static func storageError(_ error: any Error, doing what: String) -> FSError {
        if let database = error as? DatabaseError, database.resultCode == .SQLITE_FULL {
            return FSError(.noSpace, "\(what): the metadata database's disk is full")
        }
        return FSError(.ioError, "\(what): \(error)")
    }
}
