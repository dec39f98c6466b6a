import NIOCore
import Synchronization
import TrellisCore
import TrellisFSClient
import TrellisFSDistribution
import TrellisFSProtocol

/// The files this mount has open, by the `fh` the kernel holds and by
/// object (stat asks for an object's opens on every reply): an object
/// unlinked while open is hidden under another name until its last release.
final class OpenFileTable: Sendable {
    private struct State {
        var next: UInt64 = 1
        var files: [UInt64: OpenedFile] = [:]
        var opens: [ObjectHandle: [OpenedFile]] = [:]
        /// Objects unlinked while open: the directory and name they hide under.
        var hidden: [ObjectHandle: (directory: ObjectHandle, name: String)] = [:]
    }
    private let state = Mutex(State())

    var anyOpen: Bool { state.withLock { !$0.opens.isEmpty } }

    func add(_ file: OpenedFile) -> UInt64 {
        state.withLock { state in
            let number = state.next
            state.next += 1
            state.files[number] = file
            state.opens[file.handle, default: []].append(file)
            return number
        }
    }

    func get(_ number: UInt64) -> OpenedFile? {
        state.withLock { $0.files[number] }
    }

    /// Forgets an open; when it was the object's last and the object was
    /// unlinked meanwhile, says where it hides so it can be removed now.
    func remove(_ number: UInt64) -> (file: OpenedFile, hiddenAt: (directory: ObjectHandle, name: String)?)? {
        state.withLock { state in
            guard let file = state.files.removeValue(forKey: number) else { return nil }
            let left = (state.opens[file.handle] ?? []).filter { $0 !== file }
            guard left.isEmpty else {
                state.opens[file.handle] = left
                return (file, nil)
            }
            state.opens.removeValue(forKey: file.handle)
            return (file, state.hidden.removeValue(forKey: file.handle))
        }
    }

    /// The latest write time that opens of `handle` owe the server, so
    /// stat shows it before close sends it.
    func pendingModifyTime(of handle: ObjectHandle) -> Timestamp? {
        opens(of: handle).compactMap(\.pendingModifyTime).max()
    }

    /// What this mount's opens of `handle` fetched ahead is out of date.
    func discardReadAhead(of handle: ObjectHandle) {
        for file in opens(of: handle) { file.readAhead?.discard() }
    }

    /// Every open of one object.
    func opens(of handle: ObjectHandle) -> [OpenedFile] {
        state.withLock { $0.opens[handle] ?? [] }
    }

    /// The hidden name for an object being unlinked, when this mount has it open.
    func hideOnUnlink(_ handle: ObjectHandle, in directory: ObjectHandle) -> String? {
        state.withLock { state in
            guard state.opens[handle] != nil, state.hidden[handle] == nil else { return nil }
            let name = Self.hiddenPrefix + String(handle.rawValue, radix: 16)
            state.hidden[handle] = (directory, name)
            return name
        }
    }

    private static let hiddenPrefix = ".trellis-unlinked-"

    /// Whether `handle` was unlinked while open and hides until its last close.
    func isHidden(_ handle: ObjectHandle) -> Bool {
        state.withLock { $0.hidden[handle] != nil }
    }

    /// Whether `name` is one this mount hides an unlinked open file under,
    /// which listings leave out (the file has no name any more).
    func isHiddenName(_ name: String) -> Bool {
        guard name.hasPrefix(Self.hiddenPrefix), let raw = UInt64(name.dropFirst(Self.hiddenPrefix.count), radix: 16) else { return false }
        return isHidden(ObjectHandle(rawValue: raw))
    }
}

/// One open of a file: its attributes as last seen (a write that spreads a
/// stuffed file changes them), its access, and what it owes the servers: a
/// sync of what it wrote, and a new modification time (data servers keep
/// none, so the mount sets it at close, as NFS clients do).
final class OpenedFile: @unchecked Sendable {
    let handle: ObjectHandle
    let canRead: Bool
    let canWrite: Bool
    private let sizeLifetime: Duration
    private struct State {
        var attributes: ObjectAttributes
        /// Until when `attributes.size` may be trusted without asking (the attribute timeout).
        var sizeFreshUntil: Deadline
        var unsynced = false
        /// When this open last wrote, while the server's modification time is older.
        var modifiedAt: Timestamp?
    }
    private let state: Mutex<State>
    /// Set once, before the open is published (its fetcher needs this open).
    private(set) var readAhead: ReadAhead?

    init(_ attributes: ObjectAttributes, canRead: Bool, canWrite: Bool, sizeLifetimeSeconds: Double) {
        handle = attributes.handle
        self.canRead = canRead
        self.canWrite = canWrite
        sizeLifetime = .seconds(sizeLifetimeSeconds)
        state = Mutex(State(attributes: attributes, sizeFreshUntil: .after(sizeLifetime)))
    }

    var attributes: ObjectAttributes { state.withLock { $0.attributes } }

    func fetchAhead(_ make: (OpenedFile) -> ReadAhead?) {
        readAhead = make(self)
    }

    /// The bytes at `offset`, from the read-ahead when it holds them, else
    /// from the servers; a read that continues the last one fetches ahead.
    func read(at offset: UInt64, length: UInt64, _ fs: FileSystemClient) throws -> [ByteBuffer] {
        guard canRead else { throw FSError(.invalidArgument, "object \(handle) was opened for writing only") }
        let pieces = try readAhead?.take(at: offset, length: length) ?? fetch(at: offset, length: length, fs)
        if let readAhead {
            let (size, fresh) = state.withLock { ($0.attributes.size, !$0.sizeFreshUntil.hasPassed) }
            readAhead.noteRead(at: offset, length: UInt64(pieces.reduce(0) { $0 + $1.readableBytes }), knownSize: fresh ? size : 0)
        }
        return pieces
    }

    /// Reads from the servers up to the file's size, which is asked of them
    /// only when the read reaches past the size last seen or that size is
    /// older than the attribute timeout (so a stream of reads costs no stat
    /// each). The bytes at `offset`, as the servers' replies' slices in order.
    func fetch(at offset: UInt64, length: UInt64, _ fs: FileSystemClient) throws -> [ByteBuffer] {
        var file = attributes
        let fresh = state.withLock { !$0.sizeFreshUntil.hasPassed }
        if !fresh || offset + length > file.size {
            file = try fs.stat(handle: handle)
            state.withLock { state in
                state.attributes.size = file.size
                if file.datafiles.count > state.attributes.datafiles.count { state.attributes = file }
                state.sizeFreshUntil = .after(sizeLifetime)
            }
        }
        guard offset < file.size else { return [] }
        return try fs.readPieces(try fs.current(file), pattern: try AccessPattern.contiguous(offset: offset, length: min(length, file.size - offset)))
    }

    /// Writes straight from the kernel's buffer, which stays valid until the reply.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, _ fs: FileSystemClient) throws -> UInt64 {
        guard canWrite else { throw FSError(.invalidArgument, "object \(handle) was opened for reading only") }
        var seen = attributes
        let written = try fs.write(&seen, bytes: bytes, pattern: try AccessPattern.contiguous(offset: offset, length: UInt64(bytes.count)))
        update(seen, size: { max($0, offset + written) })
        return written
    }

    /// ftruncate(2), or open's O_TRUNC, which empties the file even in a
    /// read-only open (as Linux does; open checked write permission).
    func truncate(to size: UInt64, _ fs: FileSystemClient) throws {
        var seen = attributes
        try fs.truncate(&seen, to: size)
        update(seen, size: { _ in size })
    }

    /// Makes what this open wrote durable on every data server (if it
    /// wrote, or `always`), then stamps the modification time it owes.
    func sync(_ fs: FileSystemClient, always: Bool = false) throws {
        let (seen, unsynced, modifiedAt) = state.withLock { state in
            (state.attributes, state.unsynced, state.modifiedAt)
        }
        if unsynced || always { try fs.sync(try fs.current(seen)) }
        // Stamped with the server's clock at close: only a file's owner may set an explicit time.
        if modifiedAt != nil { try fs.setAttributes(handle: handle, AttributeChanges(modifyTime: .now)) }
        state.withLock { state in
            // A write that came meanwhile still owes its own sync and time.
            if state.modifiedAt == modifiedAt { (state.unsynced, state.modifiedAt) = (false, nil) }
        }
    }

    /// An O_TRUNC of an empty file changes no byte but still moves its modification time.
    func markModified() {
        state.withLock { $0.modifiedAt = .now() }
    }

    /// The time of this open's last write that the server does not have yet.
    var pendingModifyTime: Timestamp? { state.withLock { $0.modifiedAt } }

    /// The times were set explicitly (utimens, as `cp -p` and `tar` do after
    /// writing): close must not stamp over them.
    func timesWereSet() {
        state.withLock { $0.modifiedAt = nil }
    }

    private func update(_ seen: ObjectAttributes, size: (UInt64) -> UInt64) {
        state.withLock { state in
            let known = size(state.attributes.size)
            if seen.datafiles.count >= state.attributes.datafiles.count { state.attributes = seen }
            state.attributes.size = known
            state.unsynced = true
            state.modifiedAt = .now()
        }
    }
}
