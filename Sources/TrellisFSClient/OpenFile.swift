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
        try readPieces(at: offset, length: length, using: other).joined()
    }

    /// The bytes at `offset` as the servers' replies' slices, in order, so
    /// they can go on without being joined (the mount hands them to the
    /// kernel as they are).
    public func readPieces(at offset: UInt64, length: UInt64, using other: FileSystemClient? = nil) throws -> [ByteBuffer] {
        try finish(try startRead(at: offset, length: length, using: other))
    }

    /// A read on its way to the data servers (`finish` waits for it).
    public struct PendingRead {
        let offset: UInt64
        let length: UInt64
        let client: FileSystemClient
        let read: FileSystemClient.PendingRead?
        /// Whether `length` was already cut to the file's size, asked for before the read.
        let sizeApplied: Bool

        /// Gives up its replies (its caller failed before waiting for it).
        public func abandon() {
            if let read { client.abandon(read.calls.pending) }
        }
    }

    /// Sends a read of `length` bytes at `offset` to the data servers and
    /// returns before they answer: several kept in flight hide each one's
    /// round trip (read-ahead; MPI_File_iread). Like PVFS2, the read goes
    /// without asking the file's size first: only a read that finds bytes
    /// missing asks it, to tell a hole from the end of the file. A stuffed
    /// file read past its first strip is looked up first (another client
    /// may have spread it).
    /// With `withinFile`, the caller knows the range lies within the file
    /// (it asked the size, as a copy does at its start): bytes missing on
    /// the servers read as zeros and the size is not asked again.
    public func startRead(at offset: UInt64, length: UInt64, withinFile: Bool = false, using other: FileSystemClient? = nil) throws -> PendingRead {
        try check(.read)
        let fs = other ?? client
        var file = attributes
        var length = length
        let spreadMayHaveHappened = file.isStuffed && offset + length > file.stuffedCapacity
        if spreadMayHaveHappened {
            file = try fs.attributesForReading(handle)
            learn(file)
            length = offset < file.size ? min(length, file.size - offset) : 0
        }
        guard length > 0 else { return PendingRead(offset: offset, length: 0, client: fs, read: nil, sizeApplied: true) }
        return PendingRead(
            offset: offset, length: length, client: fs, read: try fs.startRead(file, pattern: try AccessPattern.contiguous(offset: offset, length: length)),
            sizeApplied: spreadMayHaveHappened || withinFile)
    }

    /// The bytes of a started read, short at the end of the file.
    public func finish(_ pending: PendingRead) throws -> [ByteBuffer] {
        guard let read = pending.read else { return [] }
        let (pieces, complete) = try pending.client.finish(read)
        let end = pending.offset + pending.length
        let trusted = state.withLock { !$0.sizeFreshUntil.hasPassed && $0.attributes.size >= end }
        if complete || pending.sizeApplied || trusted { return pieces }
        let file = try pending.client.attributesForReading(handle)
        learn(file)
        guard pending.offset < file.size else { return [] }
        return Self.prefix(pieces, bytes: Int(min(pending.length, file.size - pending.offset)))
    }

    /// The first `bytes` of `pieces`.
    private static func prefix(_ pieces: [ByteBuffer], bytes: Int) -> [ByteBuffer] {
        var kept: [ByteBuffer] = []
        var left = bytes
        for piece in pieces where left > 0 {
            kept.append(piece.getSlice(at: piece.readerIndex, length: min(left, piece.readableBytes))!)
            left -= min(left, piece.readableBytes)
        }
        return kept
    }

    /// Keeps the size (and datafiles, when more) just asked of the servers.
    private func learn(_ file: ObjectAttributes) {
        state.withLock { state in
            state.attributes.size = file.size
            if file.datafiles.count > state.attributes.datafiles.count { state.attributes = file }
            state.sizeFreshUntil = .after(sizeLifetime)
        }
    }

    /// Reads `length` bytes from `offset` in calls of `chunkBytes`, keeping
    /// `inFlight` of them on their way at once, and hands each call's bytes
    /// to `each` in order; the bytes read (short at the end of the file, or,
    /// `withinFile`, all of them: see `startRead`).
    @discardableResult
    public func readStream(
        at offset: UInt64, length: UInt64, chunkBytes: Int, inFlight: Int, withinFile: Bool = false, using other: FileSystemClient? = nil,
        _ each: ([ByteBuffer]) throws -> Void
    ) throws -> UInt64 {
        var reader = sequentialReader(at: offset, length: length, chunkBytes: chunkBytes, inFlight: inFlight, withinFile: withinFile, using: other)
        defer { reader.abandon() }
        var done: UInt64 = 0
        while let pieces = try reader.next() {
            done += pieces.reduce(0) { $0 + UInt64($1.readableBytes) }
            try each(pieces)
        }
        return done
    }

    /// Reads `length` bytes from `offset` in calls of `chunkBytes`, one call's
    /// bytes per `next()`, with `inFlight` calls on their way ahead of the one taken.
    public func sequentialReader(
        at offset: UInt64, length: UInt64, chunkBytes: Int, inFlight: Int, withinFile: Bool = false, using other: FileSystemClient? = nil
    ) -> SequentialReader {
        SequentialReader(
            file: self, client: other, nextOffset: offset, end: offset + length, chunkBytes: UInt64(max(chunkBytes, 1)), inFlight: max(inFlight, 1),
            withinFile: withinFile)
    }

    /// Reads in order with read-ahead (`sequentialReader`).
    public struct SequentialReader {
        let file: OpenFile
        let client: FileSystemClient?
        var nextOffset: UInt64
        let end: UInt64
        let chunkBytes: UInt64
        let inFlight: Int
        let withinFile: Bool
        var window: [PendingRead] = []
        var ended = false

        /// The next call's bytes as the replies' slices; nil after the last (or the end of the file).
        public mutating func next() throws -> [ByteBuffer]? {
            guard !ended else { return nil }
            while nextOffset < end, window.count < inFlight {
                let count = min(chunkBytes, end - nextOffset)
                window.append(try file.startRead(at: nextOffset, length: count, withinFile: withinFile, using: client))
                nextOffset += count
            }
            guard !window.isEmpty else { return nil }
            let oldest = window.removeFirst()
            let pieces = try file.finish(oldest)
            let got = pieces.reduce(0) { $0 + UInt64($1.readableBytes) }
            // Short: the end of the file; what is still in flight lies past it.
            if got < oldest.length { abandon() }
            return got == 0 ? nil : pieces
        }

        /// Gives up the reads still on their way; `next` then returns nil.
        public mutating func abandon() {
            for pending in window { pending.abandon() }
            window = []
            ended = true
        }
    }

    /// The regions of `pattern`, packed in order (holes, and bytes past the end, read as zeros).
    public func read(pattern: AccessPattern, using other: FileSystemClient? = nil) throws -> ByteBuffer {
        try finish(try startRead(pattern: pattern, using: other)).pieces.joined()
    }

    /// Sends a read of the regions of `pattern` (list I/O) and returns
    /// before the data servers answer; `finish(_:)` gives the bytes packed
    /// in order, zeros for holes and past the end, and whether every byte
    /// was on a server (when not, the file's size tells holes from its end).
    public func startRead(pattern: AccessPattern, using other: FileSystemClient? = nil) throws -> PendingPatternRead {
        try check(.read)
        let fs = other ?? client
        return PendingPatternRead(client: fs, read: try fs.startRead(try fs.current(attributes), pattern: pattern))
    }

    /// A list read on its way to the data servers.
    public struct PendingPatternRead {
        let client: FileSystemClient
        let read: FileSystemClient.PendingRead

        /// Gives up its replies (its caller failed before waiting for it).
        public func abandon() { client.abandon(read.calls.pending) }
    }

    /// The bytes of a started list read, as the replies' slices in order, and whether all were present.
    public func finish(_ pending: PendingPatternRead) throws -> (pieces: [ByteBuffer], complete: Bool) {
        try pending.client.finish(pending.read)
    }

    /// Writes `data` at `offset` (spreading a stuffed file that grows past its first strip); the bytes written.
    @discardableResult
    public func write(_ data: ByteBuffer, at offset: UInt64, using other: FileSystemClient? = nil) throws -> UInt64 {
        try write(data, pattern: try AccessPattern.contiguous(offset: offset, length: UInt64(data.readableBytes)), using: other)
    }

    /// Writes `data` into the regions of `pattern`, in order; the bytes written.
    @discardableResult
    public func write(_ data: ByteBuffer, pattern: AccessPattern, using other: FileSystemClient? = nil) throws -> UInt64 {
        try finish(try startWrite(data, pattern: pattern, using: other))
    }

    /// A write on its way to the data servers (`finish` waits for it).
    public struct PendingWrite {
        let client: FileSystemClient
        let write: FileSystemClient.PendingWrite
        let seen: ObjectAttributes
        let end: UInt64

        /// Gives up its replies (its caller failed before waiting for it).
        public func abandon() { client.abandon(write.calls.pending) }
    }

    /// Sends `data` at `offset` to the data servers and returns before they
    /// answer: several kept in flight hide each one's round trip
    /// (write-behind; MPI_File_iwrite). A stuffed file that grows past its
    /// first strip is spread before it returns.
    public func startWrite(_ data: ByteBuffer, at offset: UInt64, using other: FileSystemClient? = nil) throws -> PendingWrite {
        try startWrite(data, pattern: try AccessPattern.contiguous(offset: offset, length: UInt64(data.readableBytes)), using: other)
    }

    /// `startWrite` of `data` into the regions of `pattern`, in order (list I/O).
    public func startWrite(_ data: ByteBuffer, pattern: AccessPattern, using other: FileSystemClient? = nil) throws -> PendingWrite {
        try check(.write)
        let fs = other ?? client
        var seen = attributes
        let write = try fs.startWrite(&seen, data, pattern: pattern)
        // The spread file's datafiles serve the writes started after this one.
        if seen.datafiles.count > attributes.datafiles.count { state.withLock { $0.attributes = seen } }
        return PendingWrite(client: fs, write: write, seen: seen, end: pattern.regions.map { $0.offset + $0.length }.max() ?? 0)
    }

    /// The bytes a started write wrote, once every data server has them.
    @discardableResult
    public func finish(_ pending: PendingWrite) throws -> UInt64 {
        let written = try pending.client.finish(pending.write)
        noteWrite(pending.seen, size: { max($0, pending.end) })
        return written
    }

    /// Writes what `next` gives (nil: the end) from `offset` on, in order,
    /// keeping `inFlight` writes on their way at once; the bytes written.
    @discardableResult
    public func writeStream(from offset: UInt64, inFlight: Int, using other: FileSystemClient? = nil, _ next: () throws -> ByteBuffer?) throws -> UInt64 {
        var window: [PendingWrite] = []
        defer { for pending in window { pending.abandon() } }
        var position = offset
        var written: UInt64 = 0
        var exhausted = false
        while !exhausted || !window.isEmpty {
            while !exhausted, window.count < max(inFlight, 1) {
                guard let chunk = try next(), chunk.readableBytes > 0 else {
                    exhausted = true
                    break
                }
                window.append(try startWrite(chunk, at: position, using: other))
                position += UInt64(chunk.readableBytes)
            }
            if !window.isEmpty { written += try finish(window.removeFirst()) }
        }
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
