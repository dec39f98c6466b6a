import Glibc
import NIOCore
import TrellisFSDistribution
import TrellisFSProtocol

/// Any POSIX file (local, NFS, a FUSE mount) as a parallel file's
/// storage: each region one pread or pwrite. Reads of many small regions
/// go through `DataSieving` first (ROMIO's data sieving): one large read
/// of their span, from which their bytes are taken.
public final class PosixFileStorage: FileStorage {
    public let path: String
    private let descriptor: Int32
    public let stripeBytes: UInt64? = nil
    public var takesLists: Bool { false }

    /// Opens `path` (creating it when `create`).
    public init(path: String, writable: Bool, create: Bool) throws {
        self.path = path
        descriptor = open(path, (writable ? O_RDWR : O_RDONLY) | (create ? O_CREAT : 0) | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Self.failure("opening", path) }
    }

    public func startRead(_ regions: [AccessPattern.Region]) throws -> StorageRequest {
        let total = regions.reduce(0) { $0 + Int($1.length) }
        var packed = ByteBufferAllocator().buffer(capacity: total)
        var end = false
        for region in regions where !end {
            let wanted = Int(region.length)
            var done = 0
            while done < wanted {
                var got = 0
                // The closure reports what it wrote, never a failed call's -1.
                _ = packed.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted - done) { space in
                    got = pread(descriptor, space.baseAddress, wanted - done, off_t(region.offset) + off_t(done))
                    return max(got, 0)
                }
                if got < 0, errno == EINTR { continue }
                guard got >= 0 else { throw Self.failure("reading", path) }
                if got == 0 { break }
                done += got
            }
            // Short: the end of the file, past which every later region lies too.
            end = done < wanted
        }
        return .done(packed)
    }

    public func startWrite(_ data: ByteBuffer, to regions: [AccessPattern.Region]) throws -> StorageRequest {
        var position = data.readerIndex
        for region in regions {
            var done = 0
            while done < Int(region.length) {
                let wrote = data.withUnsafeReadableBytes { bytes in
                    pwrite(descriptor, bytes.baseAddress! + (position - data.readerIndex) + done, Int(region.length) - done, off_t(region.offset) + off_t(done))
                }
                if wrote < 0, errno == EINTR { continue }
                guard wrote > 0 else { throw Self.failure("writing", path) }
                done += wrote
            }
            position += Int(region.length)
        }
        return .done(nil)
    }

    public func size() throws -> UInt64 {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Self.failure("reading the size of", path) }
        return UInt64(status.st_size)
    }

    public func setSize(_ size: UInt64) throws {
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw Self.failure("setting the size of", path) }
    }

    public func sync() throws {
        guard fsync(descriptor) == 0 else { throw Self.failure("syncing", path) }
    }

    public func close() throws {
        guard Glibc.close(descriptor) == 0 else { throw Self.failure("closing", path) }
    }

    private static func failure(_ doing: String, _ path: String) -> FSError {
        let code = errno
        return FSError(code == ENOENT ? .notFound : code == EACCES ? .permissionDenied : code == ENOSPC ? .noSpace : .ioError, "\(doing) \(path): \(String(cString: strerror(code)))")
    }
}
