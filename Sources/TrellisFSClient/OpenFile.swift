import NIOCore
import Synchronization
import TrellisCore
import TrellisFSDistribution
import TrellisFSProtocol

/// A file opened for reading and / or writing: its path resolved and its
/// permissions checked once; reads and writes then go straight to its data
/// servers; `close` makes what was written durable. The one open-file type
/// of Trellis: programs get it from `FileSystemClient.open`, and the FUSE
/// mount keeps one per descriptor the kernel holds.
///
/// ```swift
/// let file = try fs.open("/results/out", access: .readWrite, create: true)
/// try file.write(ByteBuffer(string: "hello"), at: 0)
/// let back = try file.read(at: 0, length: 5)
/// try file.close()                 // synced on every data server
/// ```
///
/// Its state is behind one lock, so one open may be used from several
/// threads; a client serves one thread at a time, so each call goes through
/// the client that opened the file unless `using` names another (the mount
/// passes the client it checked out for the caller's thread). Misuse (a
/// read of a file opened for writing only, any use after close) is
/// `badDescriptor`, EBADF, as for a file descriptor.
public final class OpenFile: @unchecked Sendable {
    /// What an open allows: reads, writes, or both (checked against the file's mode at open).
    public enum Access: Sendable, CustomStringConvertible {
        case read, write, readWrite

        /// Whether reads are allowed.
        public var allowsReading: Bool { self != .write }
        /// Whether writes (and ftruncate) are allowed.
        public var allowsWriting: Bool { self != .read }
        /// "reading", "writing" or "reading and writing", for messages.
        public var description: String { self == .read ? "reading" : self == .write ? "writing" : "reading and writing" }
    }

    /// Names the file in errors.
    public let path: String
    /// The file's object.
    public let handle: ObjectHandle
    /// What this open allows.
    public let access: Access
    private let client: FileSystemClient
    /// How long the size last seen may be trusted before a read asks the servers (zero: every read asks).
    private let sizeLifetime: Duration
    /// Whether close stamps the time of the last write (data servers keep none; the mount does it as NFS clients do).
    private let stampsModifyTime: Bool
    private struct State {
        var attributes: ObjectAttributes
        var sizeFreshUntil: Deadline
        var unsynced = false
        /// When this open last wrote, while the server's modification time is older.
        var modifiedAt: Timestamp?
        var isClosed = false
    }
    private let state: Mutex<State>

    init(path: String, access: Access, attributes: ObjectAttributes, client: FileSystemClient, sizeLifetimeSeconds: Double = 0, stampsModifyTime: Bool = false) {
        self.path = path
        handle = attributes.handle
        self.access = access
        self.client = client
        sizeLifetime = .seconds(sizeLifetimeSeconds)
        self.stampsModifyTime = stampsModifyTime
        state = Mutex(State(attributes: attributes, sizeFreshUntil: .after(sizeLifetime)))
    }

    /// As last seen: a write past a stuffed file's first strip updates them.
    public var attributes: ObjectAttributes { state.withLock { $0.attributes } }

    /// The size last seen, while it may still be trusted (nil once older than the size lifetime).
    public var freshSize: UInt64? { state.withLock { $0.sizeFreshUntil.hasPassed ? nil : $0.attributes.size } }

    /// The file's size now (asked of its server, which gathers it from the data servers when it must).
    public func size(using other: FileSystemClient? = nil) throws -> UInt64 {
        try check(nil)
        let now = try (other ?? client).stat(handle: handle)
        state.withLock { $0.attributes = now }
        return now.size
    }

    /// `length` bytes at `offset`, short at the end of the file.
    public func read(at offset: UInt64, length: UInt64, using other: FileSystemClient? = nil) throws -> ByteBuffer {
        let pieces = try readPieces(at: offset, length: length, using: other)
        if pieces.count == 1 { return pieces[0] }
        var joined = ByteBufferAllocator().buffer(capacity: pieces.reduce(0) { $0 + $1.readableBytes })
        for piece in pieces { joined.writeImmutableBuffer(piece) }
        return joined
    }

    /// The bytes at `offset` as the servers' replies' slices, in order, so
    /// they can go on without being joined (the mount hands them to the
    /// kernel as they are). The file's size is asked of the servers only
    /// when the read reaches past the size last seen or that size is older
    /// than the size lifetime, so a stream of reads costs no stat each.
    public func readPieces(at offset: UInt64, length: UInt64, using other: FileSystemClient? = nil) throws -> [ByteBuffer] {
        try check(.read)
        let fs = other ?? client
        var file = attributes
        let fresh = state.withLock { !$0.sizeFreshUntil.hasPassed }
        let asked = !fresh || offset + length > file.size
        if asked {
            file = try fs.attributesForReading(handle)
            state.withLock { state in
                state.attributes.size = file.size
                if file.datafiles.count > state.attributes.datafiles.count { state.attributes = file }
                state.sizeFreshUntil = .after(sizeLifetime)
            }
        }
        guard offset < file.size else { return [] }
        // Attributes just asked for are current: a stuffed file's need not be asked for again.
        return try fs.readPieces(asked ? file : try fs.current(file), pattern: try AccessPattern.contiguous(offset: offset, length: min(length, file.size - offset)))
    }

    /// The regions of `pattern`, packed in order (holes read as zeros).
    public func read(pattern: AccessPattern, using other: FileSystemClient? = nil) throws -> ByteBuffer {
        try check(.read)
        return try (other ?? client).read(attributes, pattern: pattern)
    }

    /// Writes `data` at `offset` (spreading a stuffed file that grows past its first strip); the bytes written.
    @discardableResult
    public func write(_ data: ByteBuffer, at offset: UInt64, using other: FileSystemClient? = nil) throws -> UInt64 {
        try write(data, pattern: try AccessPattern.contiguous(offset: offset, length: UInt64(data.readableBytes)), using: other)
    }

    /// Writes `data` into the regions of `pattern`, in order; the bytes written.
    @discardableResult
    public func write(_ data: ByteBuffer, pattern: AccessPattern, using other: FileSystemClient? = nil) throws -> UInt64 {
        try check(.write)
        var seen = attributes
        let written = try (other ?? client).write(&seen, data, pattern: pattern)
        noteWrite(seen, size: { max($0, pattern.regions.map { $0.offset + $0.length }.max() ?? 0) })
        return written
    }

    /// Writes straight from the caller's memory, which must stay valid until it returns.
    @discardableResult
    public func write(bytes: UnsafeRawBufferPointer, at offset: UInt64, using other: FileSystemClient? = nil) throws -> UInt64 {
        try check(.write)
        var seen = attributes
        let written = try (other ?? client).write(&seen, bytes: bytes, pattern: try AccessPattern.contiguous(offset: offset, length: UInt64(bytes.count)))
        noteWrite(seen, size: { max($0, offset + written) })
        return written
    }

    /// Sets the file's size (spreading a stuffed file that grows past its
    /// first strip). Allowed in an open for reading only when `evenIfReadOnly`
    /// (open's O_TRUNC, which Linux applies after open checked write permission).
    public func truncate(to size: UInt64, evenIfReadOnly: Bool = false, using other: FileSystemClient? = nil) throws {
        try check(evenIfReadOnly ? nil : .write)
        var seen = attributes
        try (other ?? client).truncate(&seen, to: size)
        noteWrite(seen, size: { _ in size })
    }

    /// Makes what this open wrote durable on every data server (if it
    /// wrote, or `always`), then stamps the modification time it owes.
    public func sync(always: Bool = false, using other: FileSystemClient? = nil) throws {
        try check(nil)
        try flush(always: always, other ?? client)
    }

    /// What close(2) of a descriptor owes: the modification time, and (with
    /// `durability = "fsync"`) a sync of what this open wrote. With
    /// `durability = "replicated"` every write was on each copy of its data
    /// when it returned, which is the promise, so close costs no trip to
    /// the disks (as on Lustre and BeeGFS; an explicit fsync still syncs).
    public func flushForClose(using other: FileSystemClient? = nil) throws {
        try check(nil)
        try flush(always: false, closing: true, other ?? client)
    }

    /// `flushForClose`, then closes; any later use is `badDescriptor`.
    public func close(using other: FileSystemClient? = nil) throws {
        try check(nil)
        state.withLock { $0.isClosed = true }
        try flush(always: false, closing: true, other ?? client)
    }

    /// An O_TRUNC of an empty file changes no byte but still moves its modification time.
    public func markModified() {
        state.withLock { $0.modifiedAt = .now() }
    }

    /// The time of this open's last write that the server does not have yet.
    public var pendingModifyTime: Timestamp? { state.withLock { $0.modifiedAt } }

    /// The times were set explicitly (utimens, as `cp -p` and `tar` do after
    /// writing): close must not stamp over them.
    public func timesWereSet() {
        state.withLock { $0.modifiedAt = nil }
    }

    private func flush(always: Bool, closing: Bool = false, _ fs: FileSystemClient) throws {
        let (seen, unsynced, modifiedAt) = state.withLock { ($0.attributes, $0.unsynced, $0.modifiedAt) }
        let syncs = always || (unsynced && !(closing && fs.configuration.acknowledgesOnEveryCopy(of: seen.distribution)))
        if syncs { try fs.sync(try fs.current(seen)) }
        // Stamped with the server's clock: only a file's owner may set an explicit time.
        if stampsModifyTime, modifiedAt != nil { try fs.setAttributes(handle: handle, AttributeChanges(modifyTime: .now)) }
        state.withLock { state in
            // A write that came meanwhile still owes its own sync and time; an unsynced close leaves a later fsync its work.
            if state.modifiedAt == modifiedAt {
                state.modifiedAt = nil
                if syncs { state.unsynced = false }
            }
        }
    }

    private func noteWrite(_ seen: ObjectAttributes, size: (UInt64) -> UInt64) {
        state.withLock { state in
            let known = size(state.attributes.size)
            if seen.datafiles.count >= state.attributes.datafiles.count { state.attributes = seen }
            state.attributes.size = known
            state.unsynced = true
            state.modifiedAt = .now()
        }
    }

    /// Open, and allowing `needed` (nil: any use).
    private func check(_ needed: Access?) throws {
        let closed = state.withLock { $0.isClosed }
        if closed { throw FSError(.badDescriptor, "\(path) is closed") }
        if needed == .read, !access.allowsReading { throw FSError(.badDescriptor, "\(path) was opened for writing only") }
        if needed == .write, !access.allowsWriting { throw FSError(.badDescriptor, "\(path) was opened for reading only") }
    }
}

extension FileSystemClient {
    /// Opens a regular file, checking the caller's permission for `access`
    /// (PVFS2 checks at open; data servers trust the client after that).
    public func open(_ path: String, access: OpenFile.Access = .read, create: Bool = false, mode: UInt32 = 0o644) throws -> OpenFile {
        if create, (try? resolve(path)) == nil {
            do {
                try createFile(path, mode: mode)
            } catch let error as FSError where error.code == .exists {
                // Made by someone else meanwhile: open theirs.
            }
        }
        return try open(try regularFile(path), path: path, access: access)
    }

    /// Opens a regular file already looked up (or just made); `path` names it in errors.
    /// `sizeLifetimeSeconds` and `stampsModifyTime` are the mount's: how long
    /// reads trust the size last seen, and whether close sets the modification time.
    public func open(
        _ file: ObjectAttributes, path: String, access: OpenFile.Access = .read, sizeLifetimeSeconds: Double = 0, stampsModifyTime: Bool = false
    ) throws -> OpenFile {
        guard file.kind == .file, file.distribution != nil else {
            throw FSError(file.kind == .directory ? .isDirectory : .invalidArgument, "\(path) is not a regular file")
        }
        let needed: UInt32 = access == .read ? 4 : access == .write ? 2 : 6
        guard file.allows(needed, for: credentials) else {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not open \(path) for \(access)")
        }
        return OpenFile(path: path, access: access, attributes: file, client: self, sizeLifetimeSeconds: sizeLifetimeSeconds, stampsModifyTime: stampsModifyTime)
    }
}
