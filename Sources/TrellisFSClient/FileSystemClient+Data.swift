import NIOCore
import TrellisFSDistribution
import TrellisFSProtocol

/// Data: reads and writes go straight to the data servers, one request per
/// datafile touched, all in flight at once. A stuffed file (one datafile,
/// with its metadata) is spread over all its datafiles by the first write
/// or truncate past its first strip.
extension FileSystemClient {
    /// A file's size: as `file` holds it when its owner could tell, else
    /// from the owner, which gathers its datafiles' sizes itself (one request).
    public func size(of file: ObjectAttributes) throws -> UInt64 {
        if file.sizeIsKnown { return file.size }
        return try call(owner: file.handle, Stat(file.handle)).size
    }

    /// Every file's size whose owner could not give it, in one round of
    /// requests: one per data server, for all the files' datafiles on it.
    func fillSizes(_ entries: inout [DetailedEntry]) throws {
        var byServer: [Int: [(entry: Int, datafile: Int)]] = [:]
        for (index, entry) in entries.enumerated() where entry.attributes.kind == .file && !entry.attributes.sizeIsKnown {
            for (position, datafile) in entry.attributes.datafiles.enumerated() {
                byServer[datafile.server ?? 0, default: []].append((index, position))
            }
        }
        let asked = byServer.sorted { $0.key < $1.key }
        let requests = asked.map { server, slots in
            (server: server, operation: DatafileSizes(slots.map { entries[$0.entry].attributes.datafiles[$0.datafile] }))
        }
        var sizes: [Int: [UInt64]] = [:]
        for ((server, slots), reply) in zip(asked, try callAll(requests)) {
            let got = reply.bytes
            guard got.count == slots.count else {
                throw FSError(.protocolViolation, "server \(server) gave \(got.count) sizes for \(slots.count) datafiles")
            }
            for (slot, size) in zip(slots, got) {
                let count = entries[slot.entry].attributes.distribution!.datafileCount
                sizes[slot.entry, default: Array(repeating: 0, count: count)][slot.datafile] = size
            }
        }
        for (index, datafileSizes) in sizes {
            entries[index].attributes.size = entries[index].attributes.distribution!.logicalSize(datafileSizes: datafileSizes)
            entries[index].attributes.sizeIsKnown = true
        }
    }

    /// The bytes each datafile of a file holds, in distribution order (a
    /// stuffed file's datafiles not made yet hold none), one request per server.
    public func datafileSizes(of file: ObjectAttributes) throws -> [UInt64] {
        let groups = byServer(file.datafiles)
        var sizes: [ObjectHandle: UInt64] = [:]
        for (group, reply) in zip(groups, try callAll(groups.map { ($0.server, DatafileSizes($0.datafiles)) })) {
            let got = reply.bytes
            guard got.count == group.datafiles.count else {
                throw FSError(.protocolViolation, "server \(group.server) gave \(got.count) sizes for \(group.datafiles.count) datafiles")
            }
            for (datafile, size) in zip(group.datafiles, got) { sizes[datafile] = size }
        }
        let count = file.distribution?.datafileCount ?? file.datafiles.count
        return (0..<count).map { $0 < file.datafiles.count ? sizes[file.datafiles[$0]] ?? 0 : 0 }
    }

    /// The handles of `datafiles` grouped by the server that holds them.
    func byServer(_ datafiles: [ObjectHandle]) -> [(server: Int, datafiles: [ObjectHandle])] {
        Dictionary(grouping: datafiles) { $0.server ?? 0 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    func regularFile(_ path: String) throws -> ObjectAttributes {
        let file = try resolve(path)
        guard file.kind == .file, file.distribution != nil else {
            throw FSError(file.kind == .directory ? .isDirectory : .invalidArgument, "\(path) is not a regular file")
        }
        return file
    }

    /// Writes `data` at `offset` (creating the file first when `create`).
    @discardableResult
    public func write(_ path: String, _ data: ByteBuffer, at offset: UInt64, create: Bool = false) throws -> UInt64 {
        if create, (try? resolve(path)) == nil { try createFile(path) }
        return try write(path, data, pattern: try AccessPattern.contiguous(offset: offset, length: UInt64(data.readableBytes)))
    }

    /// Writes `data` to the regions of `pattern` in order (list I/O or a strided partition).
    @discardableResult
    public func write(_ path: String, _ data: ByteBuffer, pattern: AccessPattern) throws -> UInt64 {
        var file = try regularFile(path)
        return try write(&file, data, pattern: pattern)
    }

    /// Writes, spreading a stuffed file first when the pattern reaches past
    /// its first strip (`file` then holds the new attributes).
    public func write(_ file: inout ObjectAttributes, _ data: ByteBuffer, pattern: AccessPattern) throws -> UInt64 {
        try finish(try startWrite(&file, data, pattern: pattern))
    }

    /// Sends a write to its data servers and returns before they answer
    /// (`finish` waits): several kept in flight hide each one's round trip
    /// (write-behind). `data` is not copied; `file` is updated as `write` updates it.
    public func startWrite(_ file: inout ObjectAttributes, _ data: ByteBuffer, pattern: AccessPattern) throws -> PendingWrite {
        try startWrite(&file, byteCount: data.readableBytes, pattern: pattern) { buffer, offset, length in
            buffer.writeImmutableBuffer(data.getSlice(at: data.readerIndex + offset, length: length)!)
        }
    }

    /// Writes from memory the caller keeps valid until it returns (a FUSE
    /// request's buffer): each server's bytes are gathered from it directly.
    public func write(_ file: inout ObjectAttributes, bytes: UnsafeRawBufferPointer, pattern: AccessPattern) throws -> UInt64 {
        try finish(try startWrite(&file, byteCount: bytes.count, pattern: pattern) { buffer, offset, length in
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
        })
    }

    /// A write on its way to its data servers.
    public struct PendingWrite {
        let calls: CapabilityCalls<WriteData>
    }

    /// The bytes a started write wrote, once every data server has them.
    public func finish(_ write: PendingWrite) throws -> UInt64 {
        try finish(write.calls).reduce(0) { $0 + $1.bytes }
    }

    /// `gather` appends `length` of the caller's bytes from `offset` to a server's buffer.
    private func startWrite(_ file: inout ObjectAttributes, byteCount: Int, pattern: AccessPattern,
                            gather: (_ buffer: inout ByteBuffer, _ offset: Int, _ length: Int) -> Void) throws -> PendingWrite {
        guard pattern.byteCount == UInt64(byteCount) else {
            throw FSError(.invalidArgument, "\(byteCount) bytes for regions of \(pattern.byteCount)")
        }
        try dropSetIDBits(&file)
        let distribution = file.distribution!
        let grouped = Dictionary(grouping: try pattern.transfers(in: distribution), by: \.datafile).sorted { $0.key < $1.key }
        if let last = grouped.last?.key, last >= file.datafiles.count { file = try spread(file) }
        var requests: [(server: Int, operation: WriteData)] = []
        for (datafile, transfers) in grouped {
            var bytes = ByteBufferAllocator().buffer(capacity: Int(transfers.reduce(0) { $0 + $1.length }))
            for transfer in transfers { gather(&bytes, Int(transfer.bufferOffset), Int(transfer.length)) }
            let regions = transfers.map { AccessPattern.Region(offset: $0.physicalOffset, length: $0.length) }
            let handle = file.datafiles[datafile]
            requests.append((handle.server ?? 0, WriteData(datafile: handle, regions: regions, data: bytes)))
        }
        return PendingWrite(calls: try startWithCapability(for: file, .write, requests))
    }

    /// Gives a stuffed file the rest of its datafiles: one request to its
    /// owner, which makes them on their servers. When another client spread
    /// it first, theirs are used.
    func spread(_ file: ObjectAttributes) throws -> ObjectAttributes {
        guard file.isStuffed else { return file }
        do {
            return try call(owner: file.handle, SpreadFile(file.handle, datafiles: []))
        } catch let error as FSError where error.code == .exists {
            return try attributes(of: file.handle)
        }
    }

    /// Reads `length` bytes at `offset`, short at the end of the file.
    public func read(_ path: String, at offset: UInt64, length: UInt64) throws -> ByteBuffer {
        try read(try regularFile(path), at: offset, length: length)
    }

    /// The file's size as it is now decides where the read stops: attributes
    /// seen earlier (an open file's) may hold a size or datafiles since outgrown.
    public func read(_ file: ObjectAttributes, at offset: UInt64, length: UInt64) throws -> ByteBuffer {
        let file = try attributesForReading(file.handle)
        guard offset < file.size else { return ByteBuffer() }
        return try readCurrent(file, pattern: try AccessPattern.contiguous(offset: offset, length: min(length, file.size - offset)))
    }

    /// Reads the regions of `pattern`, packed in order (holes read as zeros).
    public func read(_ path: String, pattern: AccessPattern) throws -> ByteBuffer {
        try read(try regularFile(path), pattern: pattern)
    }

    /// The attributes anew when `file` was stuffed as last seen: another
    /// client may have spread it since.
    public func current(_ file: ObjectAttributes) throws -> ObjectAttributes {
        file.isStuffed ? try attributes(of: file.handle) : file
    }

    /// Reads the regions of `pattern` of a file already looked up, packed in order (holes read as zeros).
    public func read(_ file: ObjectAttributes, pattern: AccessPattern) throws -> ByteBuffer {
        try readCurrent(try current(file), pattern: pattern)
    }

    private func readCurrent(_ file: ObjectAttributes, pattern: AccessPattern) throws -> ByteBuffer {
        try readPieces(file, pattern: pattern).joined()
    }

    /// Reads the regions of `pattern` as slices of the servers' replies, in
    /// order, without copying them into one buffer (a mount hands them to
    /// the kernel as they are). Holes, and datafiles a stuffed file does not
    /// have yet, read as zeros. `file` must be current (see `current`).
    public func readPieces(_ file: ObjectAttributes, pattern: AccessPattern) throws -> [ByteBuffer] {
        try finish(try startRead(file, pattern: pattern)).pieces
    }

    /// A read on its way to its data servers.
    public struct PendingRead {
        let transfers: [AccessPattern.Transfer]
        let grouped: [(key: Int, value: [AccessPattern.Transfer])]
        let calls: CapabilityCalls<ReadData>
    }

    /// Sends a read to its data servers and returns before they answer
    /// (`finish` waits): several kept in flight hide each one's round trip
    /// (read-ahead). `file` must be current (see `current`).
    public func startRead(_ file: ObjectAttributes, pattern: AccessPattern) throws -> PendingRead {
        let transfers = try pattern.transfers(in: file.distribution!)
        let grouped = Dictionary(grouping: transfers.filter { $0.datafile < file.datafiles.count }, by: \.datafile).sorted { $0.key < $1.key }
        let requests = grouped.map { datafile, transfers in
            (server: file.datafiles[datafile].server ?? 0,
             operation: ReadData(datafile: file.datafiles[datafile], regions: transfers.map { .init(offset: $0.physicalOffset, length: $0.length) }))
        }
        return PendingRead(transfers: transfers, grouped: grouped, calls: try startWithCapability(for: file, .read, requests))
    }

    /// A started read's bytes, as slices of the replies in the pattern's
    /// order, and whether every one of them was on a data server: a server
    /// leaves out what lies past its datafile's end, which reads as zeros
    /// (a hole) when the file is longer, and is past the end of the file
    /// when not, which only the file's size tells (PVFS2 asks for it then too).
    public func finish(_ read: PendingRead) throws -> (pieces: [ByteBuffer], complete: Bool) {
        var slices: [UInt64: ByteBuffer] = [:]
        for ((_, transfers), data) in zip(read.grouped, try finish(read.calls)) {
            var consumed = 0
            for transfer in transfers {
                // A reply short of a region leaves the rest of it to read as zeros.
                let wanted = Int(transfer.length)
                let available = min(wanted, data.readableBytes - consumed)
                if available > 0 { slices[transfer.bufferOffset] = data.getSlice(at: data.readerIndex + consumed, length: available) }
                consumed += wanted
            }
        }
        // The transfers tile the pattern's bytes in order.
        var pieces: [ByteBuffer] = []
        var complete = true
        for transfer in read.transfers {
            var present = 0
            if let slice = slices[transfer.bufferOffset] {
                pieces.append(slice)
                present = slice.readableBytes
            }
            let missing = Int(transfer.length) - present
            if missing > 0 {
                pieces.append(Self.zeros(missing))
                complete = false
            }
        }
        return (pieces, complete)
    }

    private static func zeros(_ count: Int) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        buffer.writeRepeatingByte(0, count: count)
        return buffer
    }

    /// Sets the file's size: every datafile to its share of the new size.
    public func truncate(_ path: String, to size: UInt64) throws {
        var file = try regularFile(path)
        try truncate(&file, to: size)
    }

    /// Sets the size of a file already looked up; `file` is updated when growing spreads a stuffed file.
    public func truncate(_ file: inout ObjectAttributes, to size: UInt64) throws {
        file = try current(file)
        try dropSetIDBits(&file)
        if size > file.stuffedCapacity { file = try spread(file) }
        let distribution = file.distribution!
        let requests = file.datafiles.enumerated().map { index, datafile in
            (datafile.server ?? 0, TruncateDatafile(datafile, size: distribution.datafileSize(forLogicalSize: size, datafile: index)))
        }
        _ = try finish(try startWithCapability(for: file, .write, requests))
    }

    /// A write or truncate by anyone but root drops the file's set-ID bits
    /// first: data servers keep no modes, so the file's owner server is
    /// asked (it lets anyone who may write the file do this much).
    private func dropSetIDBits(_ file: inout ObjectAttributes) throws {
        guard let mode = SetIDBits.afterWrite(of: file, by: credentials) else { return }
        file.mode = try setAttributes(handle: file.handle, AttributeChanges(mode: mode)).mode
    }

    /// Makes the file's data durable on every data server.
    public func sync(_ path: String) throws {
        try sync(try regularFile(path))
    }

    /// Makes what was written to `file` durable on every one of its data servers.
    public func sync(_ file: ObjectAttributes) throws {
        let requests = byServer(file.datafiles).map { ($0.server, SyncDatafiles($0.datafiles)) }
        _ = try finish(try startWithCapability(for: file, [], requests))
    }

    /// Deletes datafiles on their servers (one request per server), with
    /// `capability` where the servers check them: the one the reply that
    /// dropped the file's last link carried.
    public func removeDatafiles(_ datafiles: [ObjectHandle], capability: Capability? = nil) throws {
        _ = try callAll(byServer(datafiles).map { ($0.server, RemoveDatafiles($0.datafiles)) }, capability: capability)
    }

    /// The datafiles of a removed file that its owner did not delete itself, once an unlink says its last link went.
    func removeRemoteDatafiles(of file: ObjectAttributes, ifGone left: LinksLeft) throws {
        guard file.kind == .file, left.count == 0 else { return }
        try removeDatafiles(file.datafiles.filter { $0.server != file.handle.server }, capability: left.removal)
    }
}
