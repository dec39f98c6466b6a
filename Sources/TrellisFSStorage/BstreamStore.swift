import Glibc
import NIOCore
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisSystem

/// File data of one server: each datafile object's bytes are a local file
/// ("bstream") named after the datafile's handle, made by its first write. Reads past a bstream's end (or of one never written) return
/// zeros: the logical size, not the bstream, says where the file ends.
/// A removed bstream's file is kept (in `.recycled`, and emptied) to become
/// a later datafile's (`RecycledBstreams`).
public final class BstreamStore: @unchecked Sendable {
    /// The folder holding one bstream file per datafile of this server.
    public let folder: String
    private let recycled: RecycledBstreams
    private let locks = DatafileLocks()

    /// The store in `folder`, made (mode 0700) when missing.
    public init(folder: String) throws {
        self.folder = folder
        guard mkdir(folder, 0o700) == 0 || errno == EEXIST else {
            throw Self.error("making bstream folder \(folder)", errno)
        }
        recycled = try RecycledBstreams(folder: folder + "/.recycled")
    }

    /// How many emptied files are kept for new bstreams.
    public var recycledCount: Int { recycled.count }

    /// Keeps empty files ready for new bstreams, on a thread of its own
    /// (which ends with the store): it empties removed ones and makes new
    /// ones while few are kept, so a create seldom makes an inode, and a
    /// removal seldom empties a file, while its client waits (as OrangeFS
    /// precreates datafiles).
    public func startMakingSpares() {
        let recycled = self.recycled
        let thread = startThread(named: "bstream spares") { [weak self] in
            recycled.tidyWhile { self != nil }
        }
        if let thread { pthread_detach(thread) }
    }

    /// The bstream file of `datafile` (named by its handle in hexadecimal).
    public func path(of datafile: ObjectHandle) -> String {
        folder + "/" + String(datafile.rawValue, radix: 16)
    }

    /// The datafile handles that have a bstream here (for fsck).
    public func storedDatafiles() throws -> [ObjectHandle] {
        guard let directory = opendir(folder) else { throw Self.error("listing \(folder)", errno) }
        defer { closedir(directory) }
        var found: [ObjectHandle] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if let raw = UInt64(name, radix: 16) { found.append(ObjectHandle(rawValue: raw)) }
        }
        return found
    }

    /// When a bstream last changed, in seconds since the epoch (nil: it has none).
    public func lastChange(datafile: ObjectHandle) -> Int64? {
        var status = stat()
        guard stat(path(of: datafile), &status) == 0 else { return nil }
        return Int64(status.st_mtim.tv_sec)
    }

    /// Writes `data` (the regions' bytes packed in order); returns bytes written.
    public func write(datafile: ObjectHandle, regions: [AccessPattern.Region], data: ByteBuffer) throws -> UInt64 {
        let total = try Self.byteCount(of: regions)
        guard total == UInt64(data.readableBytes) else {
            throw FSError(.invalidArgument, "a write of \(data.readableBytes) bytes names regions of \(total)")
        }
        let name = path(of: datafile)
        try locks.withLock(datafile) {
            let descriptor = try openForWriting(name)
            defer { close(descriptor) }
            try data.withUnsafeReadableBytes { bytes in
                var consumed = 0
                for region in regions {
                    try Self.writeFully(descriptor, bytes.baseAddress! + consumed, Int(region.length), at: region.offset, name: name)
                    consumed += Int(region.length)
                }
            }
        }
        return total
    }

    /// The bstream `name` open for writing, made from a kept file when it is
    /// new and one is kept (linked, so a bstream made meanwhile is never
    /// replaced), otherwise made anew. The caller holds its datafile's lock.
    private func openForWriting(_ name: String) throws -> Int32 {
        let existing = open(name, O_WRONLY | O_CLOEXEC)
        if existing >= 0 { return existing }
        guard errno == ENOENT else { throw Self.error("opening \(name)", errno) }
        if let kept = recycled.take() {
            if link(kept, name) == 0 {
                unlink(kept)
                // Emptied when it was kept; a crash between the two leaves bytes that go now.
                let descriptor = open(name, O_WRONLY | O_TRUNC | O_CLOEXEC)
                guard descriptor >= 0 else { throw Self.error("opening \(name)", errno) }
                return descriptor
            }
            recycled.giveBack(kept)
        }
        let descriptor = open(name, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Self.error("opening \(name)", errno) }
        return descriptor
    }

    /// Reads the regions' bytes, packed in order, zeros where nothing was
    /// written; with `headroom` bytes of room in front of them in the
    /// buffer, for what a reply puts there without copying them.
    public func read(datafile: ObjectHandle, regions: [AccessPattern.Region], maximumBytes: Int, headroom: Int = 0) throws -> ByteBuffer {
        let total = try Self.byteCount(of: regions)
        guard total <= UInt64(maximumBytes) else {
            throw FSError(.invalidArgument, "a read of \(total) bytes is above the \(maximumBytes)-byte limit of one request")
        }
        var buffer = ByteBufferAllocator().buffer(capacity: headroom + Int(total))
        buffer.moveWriterIndex(forwardBy: headroom)
        buffer.moveReaderIndex(forwardBy: headroom)
        // Left as it is: `readFully` writes every byte (zeros past the bstream's end), so a
        // read's megabyte is not zeroed first only to be read over.
        buffer.moveWriterIndex(forwardBy: Int(total))
        let name = path(of: datafile)
        let present: Int = try locks.withLock(datafile) {
            let descriptor = open(name, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 {
                if errno == ENOENT { return 0 }
                throw Self.error("opening \(name)", errno)
            }
            defer { close(descriptor) }
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw Self.error("reading the size of \(name)", errno) }
            try Self.readFully(descriptor, into: &buffer, regions: regions, name: name)
            return Self.bytesPresent(of: regions, datafileSize: UInt64(status.st_size))
        }
        // Zeros past the datafile's end are left out, so the client can tell them from a hole's.
        buffer.moveWriterIndex(to: buffer.readerIndex + present)
        return buffer
    }

    /// Where the reply to a read of `regions` may end: after the last of its
    /// bytes that lies within the datafile (all that follows reads as zeros).
    static func bytesPresent(of regions: [AccessPattern.Region], datafileSize: UInt64) -> Int {
        var position: UInt64 = 0
        var present: UInt64 = 0
        for region in regions {
            if datafileSize > region.offset { present = max(present, position + min(region.length, datafileSize - region.offset)) }
            position += region.length
        }
        return Int(present)
    }

    private static func readFully(_ descriptor: Int32, into buffer: inout ByteBuffer, regions: [AccessPattern.Region], name: String) throws {
        try buffer.withUnsafeMutableReadableBytes { bytes in
            var filled = 0
            for region in regions {
                var done = 0
                while done < Int(region.length) {
                    let count = pread(descriptor, bytes.baseAddress! + filled + done, Int(region.length) - done, off_t(region.offset) + off_t(done))
                    if count < 0 {
                        if errno == EINTR { continue }
                        throw Self.error("reading \(name)", errno)
                    }
                    if count == 0 {
                        // Past the end: zeros.
                        memset(bytes.baseAddress! + filled + done, 0, Int(region.length) - done)
                        break
                    }
                    done += count
                }
                filled += Int(region.length)
            }
        }
    }

    /// The regions' bytes, once they are known to lie within the largest
    /// offset (what a client sends may not).
    private static func byteCount(of regions: [AccessPattern.Region]) throws -> UInt64 {
        do {
            return try AccessPattern(regions: regions).byteCount
        } catch {
            throw FSError(.invalidArgument, "\(error)")
        }
    }

    /// The bstream's length (0 when it was never written).
    public func size(datafile: ObjectHandle) throws -> UInt64 {
        var status = stat()
        let name = path(of: datafile)
        guard stat(name, &status) == 0 else {
            if errno == ENOENT { return 0 }
            throw Self.error("reading the size of \(name)", errno)
        }
        return UInt64(status.st_size)
    }

    /// Sets the bstream's length (a missing one is made).
    public func truncate(datafile: ObjectHandle, size: UInt64) throws {
        let name = path(of: datafile)
        if size == 0, access(name, F_OK) != 0 { return }
        try locks.withLock(datafile) {
            let descriptor = try openForWriting(name)
            defer { close(descriptor) }
            guard ftruncate(descriptor, off_t(size)) == 0 else { throw Self.error("truncating \(name)", errno) }
        }
    }

    /// fsync of the bstream, so what was written survives a crash (a missing one has nothing to sync).
    public func sync(datafile: ObjectHandle) throws {
        let name = path(of: datafile)
        let descriptor = open(name, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return }
            throw Self.error("opening \(name)", errno)
        }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw Self.error("syncing \(name)", errno) }
    }

    /// Deletes the bstream (a missing one is not an error); returns whether
    /// there was one. Its file is kept for a new bstream (and emptied) while
    /// fewer than `RecycledBstreams.limit` are.
    @discardableResult
    public func remove(datafile: ObjectHandle) throws -> Bool {
        let name = path(of: datafile)
        return try locks.withLock(datafile) {
            if let kept = recycled.reserve() {
                if rename(name, kept) == 0 {
                    recycled.keep(kept)
                    return true
                }
                let failure = errno
                recycled.release()
                guard failure == ENOENT else { throw Self.error("removing \(name)", failure) }
                return false
            }
            if unlink(name) == 0 { return true }
            guard errno == ENOENT else { throw Self.error("removing \(name)", errno) }
            return false
        }
    }

    /// Space of the file system under the folder.
    public func space() throws -> (totalBytes: UInt64, freeBytes: UInt64) {
        var status = statvfs()
        guard statvfs(folder, &status) == 0 else { throw Self.error("reading the space of \(folder)", errno) }
        return (UInt64(status.f_blocks) * UInt64(status.f_frsize), UInt64(status.f_bavail) * UInt64(status.f_frsize))
    }

    private static func writeFully(_ descriptor: Int32, _ source: UnsafeRawPointer, _ length: Int, at offset: UInt64, name: String) throws {
        var done = 0
        while done < length {
            let count = pwrite(descriptor, source + done, length - done, off_t(offset) + off_t(done))
            if count < 0 {
                if errno == EINTR { continue }
                throw error("writing \(name)", errno)
            }
            done += count
        }
    }

    static func error(_ what: String, _ code: Int32) -> FSError {
        switch code {
        case ENOSPC, EDQUOT: return FSError(.noSpace, "\(what): no space left on the storage device")
        case EFBIG: return FSError(.invalidArgument, "\(what): offset beyond the largest file this storage allows")
        default: return FSError(.ioError, "\(what): \(String(cString: strerror(code)))")
        }
    }
}
