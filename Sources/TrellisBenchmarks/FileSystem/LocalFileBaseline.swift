import Glibc

/// The local-disk baseline of the file-system benchmarks: the same bytes
/// written to a local file on the same disk with fsync, and read back.
enum LocalFileBaseline {
    /// Seconds to write `bytes` to a new local file at `path` in calls of
    /// `chunkBytes` and fsync it, and to read it back; the file is removed.
    static func seconds(bytes: Int, chunkBytes: Int, path: String) throws -> (write: Double, read: Double) {
        defer { unlink(path) }
        let block = [UInt8](repeating: 0xa5, count: chunkBytes)
        let write = try timedSeconds {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw BenchmarkFailure("cannot make \(path): \(String(cString: strerror(errno)))") }
            defer { close(descriptor) }
            for offset in stride(from: 0, to: bytes, by: chunkBytes) {
                let length = min(chunkBytes, bytes - offset)
                guard block.withUnsafeBytes({ pwrite(descriptor, $0.baseAddress, length, off_t(offset)) }) == length else {
                    throw BenchmarkFailure("writing \(path) failed: \(String(cString: strerror(errno)))")
                }
            }
            fsync(descriptor)
        }
        let read = try timedSeconds {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw BenchmarkFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
            defer { close(descriptor) }
            var buffer = [UInt8](repeating: 0, count: chunkBytes)
            for offset in stride(from: 0, to: bytes, by: chunkBytes) {
                let length = min(chunkBytes, bytes - offset)
                guard pread(descriptor, &buffer, length, off_t(offset)) == length else { throw BenchmarkFailure("reading \(path) failed") }
            }
        }
        return (write, read)
    }
}
