import NIOCore
import TrellisFSDistribution
import TrellisFSProtocol

/// Data: reads and writes go straight to the data servers, one request per
/// datafile touched, all in flight at once.
extension FileSystemClient {
    /// A file's size: the distribution's logical size of its datafiles' sizes.
    func size(of file: ObjectAttributes) throws -> UInt64 {
        var one = [DetailedEntry(name: "", attributes: file)]
        try fillSizes(&one)
        return one[0].attributes.size
    }

    /// Every file's size in one round of requests: one per file and data server.
    func fillSizes(_ entries: inout [DetailedEntry]) throws {
        var requests: [(server: Int, request: FSRequest)] = []
        var askedFor: [(entry: Int, datafiles: [UInt32])] = []
        for (index, entry) in entries.enumerated() where entry.attributes.kind == .file {
            guard let distribution = entry.attributes.distribution else { continue }
            for (server, datafiles) in datafilesByServer(distribution) {
                requests.append((server, .datafileSizes(file: entry.attributes.handle, datafiles: datafiles)))
                askedFor.append((index, datafiles))
            }
        }
        var sizes: [Int: [UInt64]] = [:]
        for (asked, reply) in zip(askedFor, try callAll(requests)) {
            guard case .sizes(let got) = reply, got.count == asked.datafiles.count else {
                throw FSError(.protocolViolation, "datafile sizes answered with \(reply)")
            }
            let count = entries[asked.entry].attributes.distribution!.datafileCount
            for (datafile, size) in zip(asked.datafiles, got) { sizes[asked.entry, default: Array(repeating: 0, count: count)][Int(datafile)] = size }
        }
        for (index, datafileSizes) in sizes {
            entries[index].attributes.size = entries[index].attributes.distribution!.logicalSize(datafileSizes: datafileSizes)
        }
    }

    /// A file's datafiles grouped by the server that holds them.
    func datafilesByServer(_ distribution: Distribution) -> [Int: [UInt32]] {
        var byServer: [Int: [UInt32]] = [:]
        for datafile in 0..<distribution.datafileCount {
            byServer[distribution.server(ofDatafile: datafile, serverCount: servers.count), default: []].append(UInt32(datafile))
        }
        return byServer
    }

    func regularFile(_ path: String) throws -> (ObjectAttributes, Distribution) {
        let file = try resolve(path)
        guard file.kind == .file, let distribution = file.distribution else {
            throw FSError(file.kind == .directory ? .isDirectory : .invalidArgument, "\(path) is not a regular file")
        }
        return (file, distribution)
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
        let (file, distribution) = try regularFile(path)
        return try write(file.handle, distribution, data, pattern: pattern)
    }

    func write(_ file: ObjectHandle, _ distribution: Distribution, _ data: ByteBuffer, pattern: AccessPattern) throws -> UInt64 {
        guard pattern.byteCount == UInt64(data.readableBytes) else {
            throw FSError(.invalidArgument, "\(data.readableBytes) bytes for regions of \(pattern.byteCount)")
        }
        var requests: [(server: Int, request: FSRequest)] = []
        for (datafile, transfers) in Dictionary(grouping: try pattern.transfers(in: distribution), by: \.datafile).sorted(by: { $0.key < $1.key }) {
            var bytes = ByteBufferAllocator().buffer(capacity: Int(transfers.reduce(0) { $0 + $1.length }))
            for transfer in transfers {
                bytes.writeImmutableBuffer(data.getSlice(at: data.readerIndex + Int(transfer.bufferOffset), length: Int(transfer.length))!)
            }
            let regions = transfers.map { AccessPattern.Region(offset: $0.physicalOffset, length: $0.length) }
            requests.append((distribution.server(ofDatafile: datafile, serverCount: servers.count),
                             .write(file: file, datafile: UInt32(datafile), regions: regions, data: bytes)))
        }
        var written: UInt64 = 0
        for reply in try callAll(requests) {
            guard case .written(let count) = reply else { throw FSError(.protocolViolation, "write answered with \(reply)") }
            written += count
        }
        return written
    }

    /// Reads `length` bytes at `offset`, short at the end of the file.
    public func read(_ path: String, at offset: UInt64, length: UInt64) throws -> ByteBuffer {
        let (file, distribution) = try regularFile(path)
        return try read(file, distribution, at: offset, length: length)
    }

    func read(_ file: ObjectAttributes, _ distribution: Distribution, at offset: UInt64, length: UInt64) throws -> ByteBuffer {
        let size = try self.size(of: file)
        guard offset < size else { return ByteBuffer() }
        return try read(file.handle, distribution, pattern: try AccessPattern.contiguous(offset: offset, length: min(length, size - offset)))
    }

    /// Reads the regions of `pattern`, packed in order (holes read as zeros).
    public func read(_ path: String, pattern: AccessPattern) throws -> ByteBuffer {
        let (file, distribution) = try regularFile(path)
        return try read(file.handle, distribution, pattern: pattern)
    }

    func read(_ file: ObjectHandle, _ distribution: Distribution, pattern: AccessPattern) throws -> ByteBuffer {
        let grouped = Dictionary(grouping: try pattern.transfers(in: distribution), by: \.datafile).sorted { $0.key < $1.key }
        let requests = grouped.map { datafile, transfers in
            (server: distribution.server(ofDatafile: datafile, serverCount: servers.count),
             request: FSRequest.read(file: file, datafile: UInt32(datafile), regions: transfers.map { .init(offset: $0.physicalOffset, length: $0.length) }))
        }
        var result = ByteBufferAllocator().buffer(capacity: Int(pattern.byteCount))
        result.writeRepeatingByte(0, count: Int(pattern.byteCount))
        for ((_, transfers), reply) in zip(grouped, try callAll(requests)) {
            guard case .data(let data) = reply else { throw FSError(.protocolViolation, "read answered with \(reply)") }
            var consumed = 0
            for transfer in transfers {
                result.setBuffer(data.getSlice(at: data.readerIndex + consumed, length: Int(transfer.length))!, at: Int(transfer.bufferOffset))
                consumed += Int(transfer.length)
            }
        }
        return result
    }

    /// Sets the file's size: every datafile to its share of the new size.
    public func truncate(_ path: String, to size: UInt64) throws {
        let (file, distribution) = try regularFile(path)
        _ = try callAll((0..<distribution.datafileCount).map {
            (distribution.server(ofDatafile: $0, serverCount: servers.count),
             .truncateDatafile(file: file.handle, datafile: UInt32($0), size: distribution.datafileSize(forLogicalSize: size, datafile: $0)))
        })
    }

    /// Makes the file's data durable on every data server.
    public func sync(_ path: String) throws {
        let (file, distribution) = try regularFile(path)
        try sync(file.handle, distribution)
    }

    func sync(_ file: ObjectHandle, _ distribution: Distribution) throws {
        _ = try callAll(datafilesByServer(distribution).map { ($0.key, .syncDatafiles(file: file, datafiles: $0.value)) })
    }
}
