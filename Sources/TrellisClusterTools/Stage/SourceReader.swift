import Glibc
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
    private let tree: SourceTree
    private let files: [Int]
    private let digesting: Bool
    private var current = -1
    private var remaining: Int64 = 0
    private var offset: Int64 = 0
    private var descriptor: Int32 = -1
    /// The current file could not be read: the rest of its bytes are zeros.
    private var currentFailed = false
    private var archives: [Int: ArchiveReader] = [:]
    private var hasher = SHA256()
    private(set) var digests: [[UInt8]] = []
    private(set) var error: String?

    /// `files`: the entries whose bytes to read, in this order (all files by default).
    init(tree: SourceTree, digesting: Bool, files: [Int]? = nil) {
        self.tree = tree
        self.files = files ?? tree.manifest.entries.indices.filter { tree.manifest.entries[$0].kind == .file }
        self.digesting = digesting
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The next `count` bytes of the stream (fewer only at its end), framed
    /// as a raw chunk (`ChunkCodec`): read straight into the buffer that travels.
    func read(_ count: Int) -> ByteBuffer {
        var chunk = ByteBufferAllocator().buffer(capacity: count + 1)
        chunk.writeInteger(ChunkCodec.Form.raw.rawValue)
        while chunk.readableBytes - 1 < count, openNextIfNeeded() {
            let wanted = Int(min(Int64(count - (chunk.readableBytes - 1)), remaining))
            let start = chunk.writerIndex
            let got = readCurrent(wanted, into: &chunk)
            if got < wanted { chunk.writeRepeatingByte(0, count: wanted - got) }
            if digesting {
                chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[(start - chunk.readerIndex)...])) }
            }
            remaining -= Int64(wanted)
            offset += Int64(wanted)
        }
        return chunk
    }

    /// Appends up to `wanted` bytes of the current file; fewer when it failed or ended early.
    private func readCurrent(_ wanted: Int, into chunk: inout ByteBuffer) -> Int {
        guard !currentFailed else { return 0 }
        let entry = files[current]
        switch tree.origins[entry] {
        case .local(let path):
            guard descriptor >= 0 else { return 0 }
            return chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { space -> Int in
                var total = 0
                while total < wanted {
                    let n = Glibc.read(descriptor, space.baseAddress! + total, wanted - total)
                    if n < 0, errno == EINTR { continue }
                    if n < 0 { fail("cannot read \(path): \(String(cString: strerror(errno)))") }
                    if n == 0 { fail("\(path) shrank while it was staged") }
                    if n <= 0 { break }
                    total += n
                }
                return total
            }
        case .fileSystem(let object):
            guard let client = tree.fileSystem else { return 0 }
            do {
                var bytes = try FileSystemSource.read(object, at: offset, length: wanted, client: client)
                let got = min(bytes.readableBytes, wanted)
                chunk.writeBuffer(&bytes)
                if got < wanted { fail("fs:\(tree.manifest.entries[entry].path) shrank while it was staged") }
                return got
            } catch {
                fail("cannot read fs:\(tree.manifest.entries[entry].path): \(error)")
                return 0
            }
        case .archive(let number):
            guard let reader = archives[number] else { return 0 }
            return chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { space -> Int in
                var total = 0
                do {
                    while total < wanted {
                        let n = try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: space[total..<wanted]))
                        if n == 0 {
                            fail("\(reader.path): the member \(tree.manifest.entries[entry].path) ended early")
                            break
                        }
                        total += n
                    }
                } catch {
                    fail("\(error)")
                }
                return total
            }
        case .none:
            return 0
        }
    }

    /// Moves to the next file with bytes left, finishing those done; false at the stream's end.
    private func openNextIfNeeded() -> Bool {
        while remaining == 0 {
            if current >= 0, current < files.count { finishCurrent() }
            current += 1
            guard current < files.count else { return false }
            remaining = tree.manifest.entries[files[current]].size
            offset = 0
            currentFailed = false
            open(files[current])
        }
        return true
    }

    private func open(_ entry: Int) {
        switch tree.origins[entry] {
        case .local(let path):
            descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if descriptor < 0 { fail("cannot open \(path): \(String(cString: strerror(errno)))") }
        case .archive(let number):
            do {
                // The second pass over the archive: its files come in the order the manifest has them.
                if archives[number] == nil { archives[number] = try ArchiveReader(path: tree.archives[number]) }
                guard let member = try archives[number]!.nextFile(),
                      ArchiveSource.normalized(member.path) == tree.manifest.entries[entry].path.split(separator: "/").joined(separator: "/")
                else {
                    archives[number] = nil
                    return fail("\(tree.archives[number]) changed while it was staged")
                }
            } catch {
                archives[number] = nil
                fail("\(error)")
            }
        case .fileSystem, .none:
            break
        }
    }

    private func finishCurrent() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        if digesting { digests.append(Array(hasher.finalize())) }
        hasher = SHA256()
    }

    /// Closes the last file once the whole stream was read.
    func finish() {
        // Empty files after the last byte are still to be passed (and digested).
        _ = openNextIfNeeded()
    }

    private func fail(_ message: String) {
        if error == nil { error = message }
        currentFailed = true
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }
}
