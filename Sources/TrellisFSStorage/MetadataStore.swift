import TrellisFSDistribution
import TrellisFSProtocol

/// Where a server keeps its objects and directory entries. The server's
/// handlers decide what is allowed; the store only keeps what it is told,
/// each call one durable transaction.
public protocol MetadataStore: Sendable {
    /// Makes an object with the next handle of this server's range.
    func createObject(_ object: NewObject) throws -> ObjectAttributes
    /// Makes an object with a handle fixed in advance (the root directory).
    func createObject(_ object: NewObject, handle: ObjectHandle) throws -> ObjectAttributes
    func attributes(of handle: ObjectHandle) throws -> ObjectAttributes?
    func linkTarget(of handle: ObjectHandle) throws -> String?
    /// Applies changes (and sets the change time to `time`, which a time
    /// change of `.now` takes too); returns the new attributes.
    func update(_ handle: ObjectHandle, _ changes: AttributeChanges, at time: Timestamp) throws -> ObjectAttributes
    /// Sets modify and change time (a directory whose entries changed).
    func touch(_ handle: ObjectHandle, at time: Timestamp) throws
    func deleteObject(_ handle: ObjectHandle) throws

    /// Makes `object` and its entry `name` in `directory` in one transaction
    /// (with the datafiles it needs made here); `exists` when the name is taken.
    func create(_ object: NewObject, named name: String, in directory: ObjectHandle) throws -> ObjectAttributes
    /// Removes entry `name` and, when given, one link of the object it names
    /// (deleted with the datafiles of it that live here at its last), in
    /// one transaction.
    func remove(named name: String, in directory: ObjectHandle, unlinking: ObjectHandle?, at time: Timestamp) throws -> Unlinked
    /// Drops one link of an object whose entry went elsewhere; a directory,
    /// or an object at its last link, is deleted.
    func unlink(_ handle: ObjectHandle, at time: Timestamp) throws -> Unlinked
    /// One more link of a file or symlink and, when given, its new entry in
    /// a directory of this server, in one transaction.
    func link(_ handle: ObjectHandle, entry: (name: String, directory: ObjectHandle)?, maximumLinks: UInt32, at time: Timestamp) throws -> ObjectAttributes
    /// Empty datafile objects, in one transaction.
    func createDatafiles(count: Int, at time: Timestamp) throws -> [ObjectHandle]
    func isDatafile(_ handle: ObjectHandle) throws -> Bool
    /// Deletes datafile objects (those that are not datafiles are left alone).
    func deleteDatafiles(_ handles: [ObjectHandle]) throws
    /// Completes a stuffed file's datafiles (nil slots made here); `exists`
    /// when it has them all already.
    func spread(_ file: ObjectHandle, adding datafiles: [ObjectHandle?], at time: Timestamp) throws -> ObjectAttributes

    /// An extended attribute's value, nil when there is none.
    func extendedAttribute(of handle: ObjectHandle, named name: String) throws -> [UInt8]?
    /// Sets one (as `mode` allows: `exists` / `noAttribute` otherwise) and the change time.
    func setExtendedAttribute(of handle: ObjectHandle, named name: String, value: [UInt8], mode: ExtendedAttributeName.SetMode, at time: Timestamp) throws
    func extendedAttributeNames(of handle: ObjectHandle) throws -> [String]
    /// Removes one; `noAttribute` when there is none.
    func removeExtendedAttribute(of handle: ObjectHandle, named name: String, at time: Timestamp) throws

    func entry(in directory: ObjectHandle, named name: String) throws -> DirectoryEntry?
    /// Adds an entry; `exists` when the name is taken.
    func addEntry(_ entry: DirectoryEntry, in directory: ObjectHandle) throws
    /// Removes an entry and returns it; `notFound` when there is none.
    @discardableResult
    func removeEntry(named name: String, in directory: ObjectHandle) throws -> DirectoryEntry
    /// Renames within this server in one transaction: removes `to` if present
    /// (returning it) and moves `from` there.
    func moveEntry(from: (ObjectHandle, String), to: (ObjectHandle, String)) throws -> DirectoryEntry?
    /// Points `entry.name` at `entry.handle`, replacing what it named; returns that.
    func replaceEntry(_ entry: DirectoryEntry, in directory: ObjectHandle) throws -> DirectoryEntry?
    /// Entries sorted by name, after `after`, at most `limit`; `more` when some remain.
    func entries(in directory: ObjectHandle, after: String?, limit: Int) throws -> (entries: [DirectoryEntry], more: Bool)
    func entryCount(in directory: ObjectHandle) throws -> Int
    func objectCount() throws -> Int

    // Maintenance (fsck).
    /// Every object, datafiles included, by handle, a page at a time.
    func objects(after: ObjectHandle?, limit: Int) throws -> (objects: [ObjectAttributes], more: Bool)
    /// Every directory entry, by directory and name, a page at a time.
    func entryRecords(after: EntryCursor?, limit: Int) throws -> (records: [EntryRecord], more: Bool)
    func setLinkCount(_ handle: ObjectHandle, to count: UInt32) throws -> ObjectAttributes
    /// Datafile objects under the given handles of this server (those that exist are left alone).
    func restoreDatafiles(_ handles: [ObjectHandle], at time: Timestamp) throws

    // Datafiles precreated on other servers, for new files without a fan-out.
    func addToPool(_ handles: [ObjectHandle]) throws
    /// One pooled datafile of each server listed, removed from the pool in
    /// one commit; nil where the pool has none of that server's left.
    func takeFromPool(servers: [Int]) throws -> [ObjectHandle?]
    /// Every pooled datafile (fsck counts them as referenced).
    func pooledDatafiles() throws -> [ObjectHandle]

    /// The reply recorded for request `request` of client `client`, if there is one.
    func recordedReply(client: UInt64, request: UInt64) throws -> [UInt8]?
    /// Records the reply to a request that must not be done twice, with the
    /// change it answers when both are in one group commit. Only a client's
    /// recent replies are kept (see `RecordedReplies`).
    func recordReply(_ reply: [UInt8], client: UInt64, request: UInt64, at time: Timestamp) throws

    /// Applies a primary's changeset to this copy; returns the rows that were
    /// not as it expected (none for a copy in step with its primary).
    @discardableResult
    func apply(_ changeset: Changeset) throws -> [RowConflict]

    /// Every row a changeset carries, as text, to compare copies.
    func replicatedRows() throws -> String

    /// Writes a consistent copy of every row to `path`, calling `atSnapshot`
    /// while no commit can run (for a primary resyncing a copy in full).
    func snapshot(to path: String, atSnapshot: () -> Void) throws

    /// Replaces every replicated row with the snapshot's at `path` (on the copy).
    func replaceReplicatedRows(from path: String) throws

    /// Where the store's database is (snapshots go beside it).
    var path: String { get }

    /// Whether this thread has a group commit open (`sharingOneCommit`).
    var holdsOpenGroup: Bool { get }

    /// Runs `body` so that the changes it makes through this store on this
    /// thread commit together, with one sync to disk (group commit). A call
    /// inside that throws undoes only its own changes. Nothing is durable
    /// before this returns, so replies wait for it; when it throws, nothing
    /// of `body` was kept.
    func sharingOneCommit<T>(_ body: () throws -> T) throws -> T
}

/// What dropping a link did, as the metadata store reports it.
public struct Unlinked: Sendable, Equatable {
    /// Links the object has left: 0 when it is gone.
    public var remainingLinks: UInt32
    /// The deleted object, whose bstreams (and remote datafiles) are the caller's to remove.
    public var deleted: ObjectAttributes?

    /// No object was unlinked (the entry named one elsewhere).
    public static let nothing = Unlinked(remainingLinks: 0, deleted: nil)
}

/// What a new object starts with.
public struct NewObject: Sendable {
    /// File, directory, symlink or special file.
    public var kind: ObjectKind
    /// Permission bits (and set-id bits).
    public var mode: UInt32
    /// The owner.
    public var uid: UInt32
    /// The group.
    public var gid: UInt32
    /// Its creation time, which every timestamp starts at.
    public var time: Timestamp
    /// A file's distribution (nil for other kinds).
    public var distribution: Distribution?
    /// A symlink's target.
    public var linkTarget: String?
    /// A file's datafiles: given handles, or nil for one to make on this server.
    public var datafiles: [ObjectHandle?]
    /// How many of its datafiles are to be made on this server.
    var datafilesToMake: Int { datafiles.count { $0 == nil } }
    /// A device node's device number.
    public var rdev: UInt64

    /// What a new object starts with; a file needs a distribution and its datafiles.
    public init(
        kind: ObjectKind, mode: UInt32, uid: UInt32, gid: UInt32, time: Timestamp, distribution: Distribution? = nil, linkTarget: String? = nil,
        datafiles: [ObjectHandle?] = [], rdev: UInt64 = 0
    ) {
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.time = time
        self.distribution = distribution
        self.linkTarget = linkTarget
        self.datafiles = datafiles
        self.rdev = rdev
    }
}
