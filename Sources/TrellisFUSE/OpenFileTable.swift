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
        var files: [UInt64: MountedOpen] = [:]
        var opens: [ObjectHandle: [MountedOpen]] = [:]
        /// Objects unlinked while open: the directory and name they hide under.
        var hidden: [ObjectHandle: (directory: ObjectHandle, name: String)] = [:]
    }
    private let state = Mutex(State())

    var anyOpen: Bool { state.withLock { !$0.opens.isEmpty } }

    func add(_ file: MountedOpen) -> UInt64 {
        state.withLock { state in
            let number = state.next
            state.next += 1
            state.files[number] = file
            state.opens[file.handle, default: []].append(file)
            return number
        }
    }

    func get(_ number: UInt64) -> MountedOpen? {
        state.withLock { $0.files[number] }
    }

    /// Forgets an open; when it was the object's last and the object was
    /// unlinked meanwhile, says where it hides so it can be removed now.
    func remove(_ number: UInt64) -> (file: MountedOpen, hiddenAt: (directory: ObjectHandle, name: String)?)? {
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
        opens(of: handle).compactMap(\.file.pendingModifyTime).max()
    }

    /// What this mount's opens of `handle` fetched ahead is out of date.
    func discardReadAhead(of handle: ObjectHandle) {
        for file in opens(of: handle) { file.readAhead?.discard() }
    }

    /// Every open of one object.
    func opens(of handle: ObjectHandle) -> [MountedOpen] {
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

/// One descriptor the kernel holds: the open file (the client library's
/// `OpenFile`, which keeps the access, the size cache and what the open owes
/// the servers) and, for reads that go around the page cache, what was
/// fetched ahead for it.
final class MountedOpen: @unchecked Sendable {
    let file: OpenFile
    /// Set once, before the open is published (its fetcher needs this open).
    private(set) var readAhead: ReadAhead?

    init(_ file: OpenFile) { self.file = file }

    var handle: ObjectHandle { file.handle }

    func fetchAhead(_ make: (MountedOpen) -> ReadAhead?) {
        readAhead = make(self)
    }

    /// The bytes at `offset`, from the read-ahead when it holds them, else
    /// from the servers; a read that continues the last one fetches ahead.
    func read(at offset: UInt64, length: UInt64, _ fs: FileSystemClient) throws -> [ByteBuffer] {
        let pieces = try readAhead?.take(at: offset, length: length) ?? file.readPieces(at: offset, length: length, using: fs)
        readAhead?.noteRead(at: offset, length: UInt64(pieces.reduce(0) { $0 + $1.readableBytes }), knownSize: file.freshSize ?? 0)
        return pieces
    }
}
