import NIOCore
import TrellisFSDistribution
import TrellisFSProtocol

/// Data: reads and writes go straight to the data servers, one request per
/// datafile touched, all in flight at once. A stuffed file (one datafile,
/// with its metadata) is spread over all its datafiles by the first write
/// or truncate past its first strip.
extension FileSystemClient {
    /// A file's size: from its owner when that server holds all its
    /// datafiles, else the distribution's logical size of its datafiles' sizes.
    public func size(of file: ObjectAttributes) throws -> UInt64 {
        if file.sizeIsKnown { return file.size }
        if aggregateOperations { return try attributes(reply: call(owner: file.handle, .stat(file.handle)), "file \(file.handle)").size }
        var one = [DetailedEntry(name: "", attributes: file)]
        try fillSizes(&one)
        return one[0].attributes.size
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
            (server: server, request: FSRequest.datafileSizes(slots.map { entries[$0.entry].attributes.datafiles[$0.datafile] }))
        }
        var sizes: [Int: [UInt64]] = [:]
        for ((_, slots), reply) in zip(asked, try callAll(requests)) {
            guard case .sizes(let got) = reply, got.count == slots.count else {
                throw FSError(.protocolViolation, "datafile sizes answered with \(reply)")
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
        for (group, reply) in zip(groups, try callAll(groups.map { ($0.server, FSRequest.datafileSizes($0.datafiles)) })) {
            guard case .sizes(let got) = reply, got.count == group.datafiles.count else {
                throw FSError(.protocolViolation, "datafile sizes from server \(group.server) answered with \(reply)")
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
        try write(&file, byteCount: data.readableBytes, pattern: pattern) { buffer, offset, length in
            buffer.writeImmutableBuffer(data.getSlice(at: data.readerIndex + offset, length: length)!)
        }
    }

    /// Writes from memory the caller keeps valid until it returns (a FUSE
    /// request's buffer): each server's bytes are gathered from it directly.
    public func write(_ file: inout ObjectAttributes, bytes: UnsafeRawBufferPointer, pattern: AccessPattern) throws -> UInt64 {
        try write(&file, byteCount: bytes.count, pattern: pattern) { buffer, offset, length in
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]))
        }
    }

    /// `gather` appends `length` of the caller's bytes from `offset` to a server's buffer.
    private func write(_ file: inout ObjectAttributes, byteCount: Int, pattern: AccessPattern,
                       gather: (_ buffer: inout ByteBuffer, _ offset: Int, _ length: Int) -> Void) throws -> UInt64 {
        guard pattern.byteCount == UInt64(byteCount) else {
            throw FSError(.invalidArgument, "\(byteCount) bytes for regions of \(pattern.byteCount)")
        }
        try dropSetIDBits(&file)
        let distribution = file.distribution!
        let grouped = Dictionary(grouping: try pattern.transfers(in: distribution), by: \.datafile).sorted { $0.key < $1.key }
        if let last = grouped.last?.key, last >= file.datafiles.count { file = try spread(file) }
        var requests: [(server: Int, request: FSRequest)] = []
        for (datafile, transfers) in grouped {
            var bytes = ByteBufferAllocator().buffer(capacity: Int(transfers.reduce(0) { $0 + $1.length }))
            for transfer in transfers { gather(&bytes, Int(transfer.bufferOffset), Int(transfer.length)) }
            let regions = transfers.map { AccessPattern.Region(offset: $0.physicalOffset, length: $0.length) }
            let handle = file.datafiles[datafile]
            requests.append((handle.server ?? 0, .write(datafile: handle, regions: regions, data: bytes)))
        }
        var written: UInt64 = 0
        for reply in try callAll(requests) {
            guard case .written(let count) = reply else { throw FSError(.protocolViolation, "write answered with \(reply)") }
            written += count
        }
        return written
    }

    /// Gives a stuffed file the rest of its datafiles: made on their servers
    /// (one request per server), then recorded by the file's owner. When
    /// another client spread it first, ours are removed and theirs used.
    func spread(_ file: ObjectAttributes) throws -> ObjectAttributes {
        guard file.isStuffed, let distribution = file.distribution else { return file }
        if aggregateOperations {
            do {
                return try attributes(reply: call(owner: file.handle, .spreadFile(file.handle, datafiles: [])), "file \(file.handle)")
            } catch let error as FSError where error.code == .exists {
                return try attributes(of: file.handle)
            }
        }
        let missing = Array(file.datafiles.count..<distribution.datafileCount)
        let made = try makeDatafiles(missing.map { distribution.server(ofDatafile: $0, serverCount: servers.count) })
        do {
            return try attributes(reply: call(owner: file.handle, .spreadFile(file.handle, datafiles: made)), "file \(file.handle)")
        } catch let error as FSError where error.code == .exists {
            try removeDatafiles(made)
            return try attributes(of: file.handle)
        }
    }

    /// One new datafile on each server listed (in that order): one request per server.
    func makeDatafiles(_ onServers: [Int]) throws -> [ObjectHandle] {
        let counts = Dictionary(grouping: onServers, by: { $0 }).mapValues(\.count).sorted { $0.key < $1.key }
        var made: [Int: [ObjectHandle]] = [:]
        for ((server, count), reply) in zip(counts, try callAll(counts.map { ($0.key, .createDatafiles(count: UInt32($0.value))) })) {
            guard case .handles(let handles) = reply, handles.count == count else {
                throw FSError(.protocolViolation, "server \(server) answered createDatafiles with \(reply)")
            }
            made[server] = handles.reversed()
        }
        return onServers.map { made[$0]!.removeLast() }
    }

    /// Reads `length` bytes at `offset`, short at the end of the file.
    public func read(_ path: String, at offset: UInt64, length: UInt64) throws -> ByteBuffer {
        try read(try regularFile(path), at: offset, length: length)
    }

    /// The file's size as it is now decides where the read stops: attributes
    /// seen earlier (an open file's) may hold a size or datafiles since outgrown.
    public func read(_ file: ObjectAttributes, at offset: UInt64, length: UInt64) throws -> ByteBuffer {
        let file = try stat(handle: file.handle)
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

    public func read(_ file: ObjectAttributes, pattern: AccessPattern) throws -> ByteBuffer {
        try readCurrent(try current(file), pattern: pattern)
    }

    private func readCurrent(_ file: ObjectAttributes, pattern: AccessPattern) throws -> ByteBuffer {
        let pieces = try readPieces(file, pattern: pattern)
        if pieces.count == 1 { return pieces[0] }
        var result = ByteBufferAllocator().buffer(capacity: Int(pattern.byteCount))
        for piece in pieces { result.writeImmutableBuffer(piece) }
        return result
    }

    /// Reads the regions of `pattern` as slices of the servers' replies, in
    /// order, without copying them into one buffer (a mount hands them to
    /// the kernel as they are). Holes, and datafiles a stuffed file does not
    /// have yet, read as zeros. `file` must be current (see `current`).
    public func readPieces(_ file: ObjectAttributes, pattern: AccessPattern) throws -> [ByteBuffer] {
        let transfers = try pattern.transfers(in: file.distribution!)
        let grouped = Dictionary(grouping: transfers.filter { $0.datafile < file.datafiles.count }, by: \.datafile).sorted { $0.key < $1.key }
        let requests = grouped.map { datafile, transfers in
            (server: file.datafiles[datafile].server ?? 0,
             request: FSRequest.read(datafile: file.datafiles[datafile], regions: transfers.map { .init(offset: $0.physicalOffset, length: $0.length) }))
        }
        var slices: [UInt64: ByteBuffer] = [:]
        for ((_, transfers), reply) in zip(grouped, try callAll(requests)) {
            guard case .data(let data) = reply else { throw FSError(.protocolViolation, "read answered with \(reply)") }
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
        for transfer in transfers {
            var present = 0
            if let slice = slices[transfer.bufferOffset] {
                pieces.append(slice)
                present = slice.readableBytes
            }
            let missing = Int(transfer.length) - present
            if missing > 0 { pieces.append(Self.zeros(missing)) }
        }
        return pieces
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

    public func truncate(_ file: inout ObjectAttributes, to size: UInt64) throws {
        file = try current(file)
        try dropSetIDBits(&file)
        if size > file.stuffedCapacity { file = try spread(file) }
        let distribution = file.distribution!
        _ = try callAll(file.datafiles.enumerated().map { index, datafile in
            (datafile.server ?? 0, .truncateDatafile(datafile, size: distribution.datafileSize(forLogicalSize: size, datafile: index)))
        })
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

    public func sync(_ file: ObjectAttributes) throws {
        _ = try callAll(byServer(file.datafiles).map { ($0.server, .syncDatafiles($0.datafiles)) })
    }

    /// Deletes datafiles on their servers (one request per server).
    func removeDatafiles(_ datafiles: [ObjectHandle]) throws {
        _ = try callAll(byServer(datafiles).map { ($0.server, .removeDatafiles($0.datafiles)) })
    }

    /// The datafiles of a removed file that its owner did not delete itself.
    func removeRemoteDatafiles(of file: ObjectAttributes) throws {
        try removeDatafiles(file.datafiles.filter { $0.server != file.handle.server })
    }

    /// removeRemoteDatafiles once `reply` to an unlink says the file's last link went.
    func removeRemoteDatafiles(of file: ObjectAttributes, ifGone reply: FSReply) throws {
        guard file.kind == .file, case .unlinked(remainingLinks: 0) = reply else { return }
        try removeRemoteDatafiles(of: file)
    }
}
