#if canImport(Glibc)
import Glibc
#endif
import Crypto
import NIOCore
import TrellisCore

/// Reads the stream of a stage at rank 0: every file's bytes in manifest
/// order, cut into chunks of a fixed size that cross file boundaries, so
/// that ten thousand small files move in a few large broadcasts.
///
/// A file that cannot be read, or shrinks while it is read, still yields
/// its declared size (zeros) so that every host stays in step; the error
/// is kept and fails the stage everywhere.
final class SourceReader {
    private let files: [(origin: String, size: Int64)]
    private let digesting: Bool
    private var current = 0
    private var descriptor: Int32 = -1
    private var remaining: Int64 = 0
    private var hasher = SHA256()
    private(set) var digests: [[UInt8]] = []
    private(set) var error: String?

    init(tree: SourceTree, digesting: Bool) {
        files = zip(tree.manifest.entries, tree.origins).filter { $0.0.kind == .file }.map { ($0.1, $0.0.size) }
        self.digesting = digesting
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The next `count` bytes of the stream (fewer only at its end).
    func read(_ count: Int) -> ByteBuffer {
        var chunk = ByteBufferAllocator().buffer(capacity: count)
        while chunk.readableBytes < count, openNextIfNeeded() {
            let wanted = Int(min(Int64(count - chunk.readableBytes), remaining))
            let got = chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { space -> Int in
                guard descriptor >= 0 else { return 0 }
                var total = 0
                while total < wanted {
                    let n = Glibc.read(descriptor, space.baseAddress! + total, wanted - total)
                    if n < 0, errno == EINTR { continue }
                    if n < 0 { fail("cannot read \(files[current].origin): \(String(cString: strerror(errno)))") }
                    if n == 0 { fail("\(files[current].origin) shrank while it was staged") }
                    if n <= 0 { break }
                    total += n
                }
                return total
            }
            if got < wanted { chunk.writeRepeatingByte(0, count: wanted - got) }
            if digesting {
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[($0.count - wanted)...])) }
            }
            remaining -= Int64(wanted)
        }
        return chunk
    }

    /// Moves to the next file with bytes left, finishing those done; false at the stream's end.
    private func openNextIfNeeded() -> Bool {
        while remaining == 0 {
            if opened { finishCurrent() }
            guard current < files.count else { return false }
            opened = true
            remaining = files[current].size
            descriptor = open(files[current].origin, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 { fail("cannot open \(files[current].origin): \(String(cString: strerror(errno)))") }
        }
        return true
    }

    /// Whether `files[current]` has been started and not yet finished.
    private var opened = false

    private func finishCurrent() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        if digesting { digests.append(Array(hasher.finalize())) }
        hasher = SHA256()
        opened = false
        current += 1
    }

    /// Closes the last file once the whole stream was read.
    func finish() {
        // Empty files after the last byte are still to be passed (and digested).
        _ = openNextIfNeeded()
    }

    private func fail(_ message: String) {
        if error == nil { error = message }
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }
}
