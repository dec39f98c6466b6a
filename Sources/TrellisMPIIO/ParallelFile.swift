import NIOCore
import TrellisFSClient
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisRuntime

/// A file opened by every rank of a communicator together (MPI_File): each
/// rank reads and writes its part through its view, on its own
/// (independent calls) or with the others (collective calls, which gather
/// small interleaved pieces at aggregators into large requests: ROMIO's
/// two-phase I/O). The bytes live in a Trellis file, reached directly by
/// the client library, or in any POSIX file.
///
/// ```swift
/// let file = try ParallelFile.open(world, path: "/out.dat", on: fs, access: .readWrite, create: true)
/// // Rank r writes every n-th 47,008-byte record, starting with record r (IOR's "hard" pattern):
/// let record = 47_008
/// let mine = try Datatype.indexed([(offset: world.rank * record, length: record)]).resized(extent: world.size * record)
/// try file.setView(FileView(displacement: 0, etype: .contiguous(record), filetype: mine))
/// try file.writeAll(at: 0, records)          // all of this rank's records, one collective call
/// try file.close()
/// ```
///
/// Offsets are in etypes of the current view, counts in bytes (a whole
/// number of etypes). A file is used by one thread of each rank at a time.
public final class ParallelFile {
    /// Names the file in errors.
    public let path: String
    /// What the ranks opened it for.
    public let access: OpenFile.Access
    /// The settings the program gave.
    public let hints: IOHints
    /// Ranks that opened it together (a duplicate of the caller's, so its messages never meet the program's).
    public let communicator: Communicator
    private let storage: FileStorage
    /// The current view (MPI_File_set_view).
    public private(set) var view = FileView.whole
    /// The individual file pointer, in etypes of the view (MPI_File_seek's).
    public private(set) var position: UInt64 = 0
    private var isClosed = false
    /// Whether every rank's view cuts the file into pieces that ROMIO's
    /// automatic choice would send straight to storage that takes lists:
    /// then a collective call needs no exchange to decide so.
    private var piecesGoStraight = false

    /// Opens a file of a Trellis file system on every rank of `communicator`
    /// (collective): each rank through `client`. With `create`, the file is
    /// made if it is missing. When a rank cannot open it, no rank keeps it open.
    public static func open(
        _ communicator: Communicator, path: String, on client: FileSystemClient, access: OpenFile.Access, create: Bool = false, hints: IOHints = IOHints()
    ) throws -> ParallelFile {
        try open(communicator, path: path, access: access, hints: hints) {
            try TrellisFileStorage(client: client, path: path, access: access, create: create)
        }
    }

    /// Opens a POSIX file (local, NFS, a FUSE mount) on every rank of `communicator` (collective).
    public static func open(
        _ communicator: Communicator, posixPath path: String, access: OpenFile.Access, create: Bool = false, hints: IOHints = IOHints()
    ) throws -> ParallelFile {
        try open(communicator, path: path, access: access, hints: hints) {
            try PosixFileStorage(path: path, writable: access.allowsWriting, create: create)
        }
    }

    private static func open(
        _ communicator: Communicator, path: String, access: OpenFile.Access, hints: IOHints, storage make: () throws -> FileStorage
    ) throws -> ParallelFile {
        let ranks = try communicator.duplicate()
        var storage: FileStorage?
        var failure: Error?
        // Rank 0 makes a missing file before the others look for it.
        if ranks.rank == 0 {
            do { storage = try make() } catch { failure = error }
        }
        try ranks.barrier()
        if ranks.rank != 0 {
            do { storage = try make() } catch { failure = error }
        }
        do {
            try agree(ranks, failure, "opening", path)
        } catch {
            try? storage?.close()
            ranks.free()
            throw error
        }
        return ParallelFile(path: path, access: access, hints: hints, communicator: ranks, storage: storage!)
    }

    private init(path: String, access: OpenFile.Access, hints: IOHints, communicator: Communicator, storage: FileStorage) {
        self.path = path
        self.access = access
        self.hints = hints
        self.communicator = communicator
        self.storage = storage
    }

    /// Sets this rank's view and puts its file pointer at the view's start
    /// (MPI_File_set_view; each rank may have its own). Collective, as MPI asks.
    public func setView(_ view: FileView) throws {
        try check(nil)
        self.view = view
        position = 0
        // The one exchange a view needs, as MPI's barrier here: whether every rank's pieces are large.
        let smallest = view.isContiguous || !storage.takesLists ? 0 : Int64(view.filetype.blocks.map(\.length).min() ?? 0)
        let smallestOfAll = try communicator.allreduce([smallest], .min)[0]
        piecesGoStraight = smallestOfAll >= Int64(CollectiveBuffering.directPieceBytes)
    }

    /// Moves the individual file pointer to `offset` etypes of the view (MPI_File_seek with MPI_SEEK_SET).
    public func seek(to offset: UInt64) throws {
        try check(nil)
        position = offset
    }

    // MARK: Independent calls

    /// Writes `data` at `offset` etypes of this rank's view (MPI_File_write_at).
    public func write(at offset: UInt64, _ data: ByteBuffer) throws {
        _ = try startWrite(at: offset, data).wait()
    }

    /// Reads `bytes` at `offset` etypes of this rank's view (MPI_File_read_at); short where the file ends.
    public func read(at offset: UInt64, bytes: Int) throws -> ByteBuffer {
        try check(.read)
        let regions = try regions(at: offset, bytes: bytes)
        if regions.count > 1, !storage.takesLists, hints.sievingReads != .disable {
            return try DataSieving.read(regions, from: storage, bufferBytes: hints.sievingBufferBytes)
        }
        return try storage.read(regions)
    }

    /// Writes at the individual file pointer and moves it past the data (MPI_File_write).
    public func write(_ data: ByteBuffer) throws {
        try write(at: position, data)
        position += UInt64(data.readableBytes / view.etype.byteCount)
    }

    /// Reads at the individual file pointer and moves it past what was read (MPI_File_read).
    public func read(bytes: Int) throws -> ByteBuffer {
        let data = try read(at: position, bytes: bytes)
        position += UInt64(data.readableBytes / view.etype.byteCount)
        return data
    }

    /// Starts a write at `offset` etypes of the view and returns before it
    /// is done (MPI_File_iwrite_at): several in flight hide each one's round
    /// trip to the servers. `data` must not change until `wait`.
    public func startWrite(at offset: UInt64, _ data: ByteBuffer) throws -> StorageRequest {
        try check(.write)
        return try storage.startWrite(data, to: try regions(at: offset, bytes: data.readableBytes))
    }

    /// Starts a read at `offset` etypes of the view (MPI_File_iread_at); `wait` gives its bytes.
    public func startRead(at offset: UInt64, bytes: Int) throws -> StorageRequest {
        try check(.read)
        return try storage.startRead(try regions(at: offset, bytes: bytes))
    }

    // MARK: Collective calls

    /// Every rank writes its `data` at `offset` etypes of its own view, in
    /// one call (MPI_File_write_at_all): when the ranks' pieces interleave
    /// (or the hints say so), aggregators gather them into large writes.
    /// A failure on any rank fails the call on every rank.
    public func writeAll(at offset: UInt64, _ data: ByteBuffer) throws {
        try check(.write)
        var failure: Error?
        var regions: [AccessPattern.Region] = []
        do { regions = try self.regions(at: offset, bytes: data.readableBytes) } catch { failure = error }
        let plan = try collectivePlan(regions, choice: hints.collectiveWrites)
        do {
            if let plan {
                if let gathered = try plan.exchangeForWrite(data, regions: regions) { try writeInPieces(gathered.data, gathered.regions) }
            } else if failure == nil {
                try storage.write(data, to: regions)
            }
        } catch {
            failure = failure ?? error
        }
        try Self.agree(communicator, failure, "a collective write", path)
    }

    /// Every rank reads `bytes` at `offset` etypes of its own view, in one
    /// call (MPI_File_read_at_all); each rank's bytes are short where the file ends.
    public func readAll(at offset: UInt64, bytes: Int) throws -> ByteBuffer {
        try check(.read)
        var failure: Error?
        var regions: [AccessPattern.Region] = []
        do { regions = try self.regions(at: offset, bytes: bytes) } catch { failure = error }
        let plan = try collectivePlan(regions, choice: hints.collectiveReads)
        var data = ByteBuffer()
        do {
            if let plan {
                data = try plan.exchangeForRead(regions: regions) { runs in try self.readInPieces(runs) }
            } else if failure == nil {
                data = try storage.read(regions)
            }
        } catch {
            failure = failure ?? error
        }
        try Self.agree(communicator, failure, "a collective read", path)
        return data
    }

    /// Makes every rank's writes durable (MPI_File_sync; collective).
    public func sync() throws {
        try check(nil)
        var failure: Error?
        do { try storage.sync() } catch { failure = error }
        try Self.agree(communicator, failure, "a sync", path)
    }

    /// The file's size in bytes now.
    public func size() throws -> UInt64 {
        try check(nil)
        return try storage.size()
    }

    /// Sets the file's size (MPI_File_set_size; collective): rank 0 sets it, every rank returns once it is set.
    public func setSize(_ size: UInt64) throws {
        try check(.write)
        var failure: Error?
        if communicator.rank == 0 {
            do { try storage.setSize(size) } catch { failure = error }
        }
        try Self.agree(communicator, failure, "setting the size", path)
    }

    /// Closes the file on every rank (collective); any later use is an error.
    public func close() throws {
        try check(nil)
        isClosed = true
        var failure: Error?
        do { try storage.close() } catch { failure = error }
        defer { communicator.free() }
        try Self.agree(communicator, failure, "closing", path)
    }

    // MARK: Helpers

    /// How a collective call goes: nil when each rank does its own part.
    /// Every rank knows that without asking the others when the hints
    /// disable aggregation, or when they leave it to the automatic choice
    /// and every view's pieces are large (IO500's hard records); otherwise
    /// the ranks tell each other what they touch.
    private func collectivePlan(_ regions: [AccessPattern.Region], choice: IOHints.Choice) throws -> CollectiveBuffering? {
        if choice == .disable || (choice == .automatic && piecesGoStraight) { return nil }
        return try CollectiveBuffering.plan(
            communicator, regions: regions, choice: choice, aggregatorCount: hints.aggregators, stripeBytes: storage.stripeBytes,
            takesLists: storage.takesLists)
    }

    private func regions(at offset: UInt64, bytes: Int) throws -> [AccessPattern.Region] {
        let etype = view.etype.byteCount
        guard bytes >= 0, bytes % etype == 0 else { throw IOError.partialEtype(bytes, etype, path) }
        return view.regions(at: offset * UInt64(etype), bytes: UInt64(bytes))
    }

    /// An aggregator's writes, at most `cb_buffer_size` bytes each, all in flight together.
    private func writeInPieces(_ data: ByteBuffer, _ regions: [AccessPattern.Region]) throws {
        var requests: [StorageRequest] = []
        var position = data.readerIndex
        for group in Self.pieces(of: regions, atMost: UInt64(hints.collectiveBufferBytes)) {
            let bytes = group.reduce(0) { $0 + Int($1.length) }
            requests.append(try storage.startWrite(data.getSlice(at: position, length: bytes)!, to: group))
            position += bytes
        }
        for request in requests { _ = try request.wait() }
    }

    /// An aggregator's reads, at most `cb_buffer_size` bytes each, all in flight together; cut where the file ends.
    private func readInPieces(_ regions: [AccessPattern.Region]) throws -> ByteBuffer {
        let groups = Self.pieces(of: regions, atMost: UInt64(hints.collectiveBufferBytes))
        let requests = try groups.map { try storage.startRead($0) }
        var packed = ByteBufferAllocator().buffer(capacity: regions.reduce(0) { $0 + Int($1.length) })
        var ended = false
        for (group, request) in zip(groups, requests) {
            let bytes = try request.wait() ?? ByteBuffer()
            if !ended { packed.writeImmutableBuffer(bytes) }
            ended = ended || bytes.readableBytes < group.reduce(0) { $0 + Int($1.length) }
        }
        return packed
    }

    /// `regions` in groups of at most `limit` bytes (a region cut where it must).
    static func pieces(of regions: [AccessPattern.Region], atMost limit: UInt64) -> [[AccessPattern.Region]] {
        var groups: [[AccessPattern.Region]] = [[]]
        var filled: UInt64 = 0
        for region in regions {
            var offset = region.offset
            var left = region.length
            while left > 0 {
                if filled == limit {
                    groups.append([])
                    filled = 0
                }
                let length = min(left, limit - filled)
                groups[groups.count - 1].append(AccessPattern.Region(offset: offset, length: length))
                filled += length
                offset += length
                left -= length
            }
        }
        return groups.filter { !$0.isEmpty }
    }

    private func check(_ needed: OpenFile.Access?) throws {
        if isClosed { throw IOError.closed(path) }
        if needed == .read, !access.allowsReading { throw IOError.notAllowed(path, "reading") }
        if needed == .write, !access.allowsWriting { throw IOError.notAllowed(path, "writing") }
    }

    /// Fails every rank when any failed, naming the first that did.
    private static func agree(_ communicator: Communicator, _ failure: Error?, _ what: String, _ path: String) throws {
        let failed = try communicator.allreduce([failure == nil ? Int64.max : Int64(communicator.rank)], .min)[0]
        guard failed != Int64.max else { return }
        if let failure, failed == Int64(communicator.rank) { throw IOError.collective(what, path, rank: communicator.rank, failure) }
        throw IOError.collective(what, path, rank: Int(failed), failure)
    }
}
