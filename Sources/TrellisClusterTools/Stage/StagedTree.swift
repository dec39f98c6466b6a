import Glibc
import Crypto
import NIOCore
import TrellisCore
import TrellisFSProtocol

/// One host's copy of a stage under its destination. Files are written under
/// temporary names beside their real ones and renamed only when every host
/// has them whole (`commit`), so a failed stage never leaves a partial file
/// under a real name, and a file that was there before survives a failed
/// stage untouched. Everything this stage made is remembered, so that
/// `removeWhatThisStageWrote` can take it back.
///
/// The first error stops this host's writing (it still passes the stream on
/// to the hosts below it) and names the file.
final class StagedTree {
    struct Settings {
        /// Modes, times and (as root) owners exactly as at the source; otherwise
        /// modes less the umask and the time of writing, as cp does.
        var preserve = false
        var verify = false
        /// Rename each file into place as soon as it is whole (a sync, which
        /// resumes from what is in place), instead of all at the end.
        var commitEachFile = false
        /// Give every file, directory and link the source's extended attributes, exactly.
        var extendedAttributes = false
    }

    let destination: String
    private let manifest: StageManifest
    private let settings: Settings
    private let fileEntries: [Int]
    private let umask: UInt32
    private let isRoot = geteuid() == 0
    private var createdDirectories: [String] = []
    /// Files written whole, by entry index, under their temporary names.
    private var written: [Int: String] = [:]
    private(set) var error: String?
    private(set) var bytesWritten: Int64 = 0
    private(set) var committedEntries = 0

    // Where the stream stands: the file being written and its bytes still to come.
    private var cursor = -1
    private var remaining: Int64 = 0
    private var descriptor: Int32 = -1
    private var temporary = ""

    /// Files of the stream this host writes (nil: all); the others' bytes pass by.
    private let keep: Set<Int>?

    /// `files`: the entries whose bytes the stream carries, in its order (all files by default).
    init(destination: String, manifest: StageManifest, settings: Settings, files: [Int]? = nil, keep: Set<Int>? = nil) {
        self.keep = keep
        self.destination = destination
        self.manifest = manifest
        self.settings = settings
        fileEntries = files ?? manifest.entries.indices.filter { manifest.entries[$0].kind == .file }
        let old = Glibc.umask(0)
        Glibc.umask(old)
        umask = UInt32(old)
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    private func path(of entry: Int) -> String { destination + "/" + manifest.entries[entry].path }

    private func temporaryPath(of entry: Int) -> String {
        let full = path(of: entry)
        let parent = full[..<full.lastIndex(of: "/")!]
        return "\(parent)/.trellis-stage-\(manifest.tag)-\(entry)"
    }

    private func fail(_ message: String) {
        if error == nil { error = message }
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporary)
        }
        descriptor = -1
    }

    private func systemFailure(_ what: String, _ path: String) {
        fail("\(what) \(path): \(String(cString: strerror(errno)))")
    }

    /// Makes the destination and every directory of the manifest (writable
    /// by this process until `commit` gives them their modes).
    func prepare() {
        var built = ""
        for part in destination.split(separator: "/", omittingEmptySubsequences: true) {
            built += (built.isEmpty && !destination.hasPrefix("/") ? "" : "/") + part
            makeDirectory(built, mode: 0o777)
            if error != nil { return }
        }
        for (index, entry) in manifest.entries.enumerated() where entry.kind == .directory {
            makeDirectory(path(of: index), mode: 0o700)
            if error != nil { return }
        }
        if access(destination, W_OK) != 0 { systemFailure("cannot write in", destination) }
    }

    private func makeDirectory(_ directory: String, mode: mode_t) {
        if mkdir(directory, mode) == 0 {
            createdDirectories.append(directory)
            return
        }
        let reason = errno
        var info = stat()
        if stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { return }
        errno = reason == EEXIST ? ENOTDIR : reason
        systemFailure("cannot make the directory", directory)
    }

    /// Writes the next chunk of the stream into the files it belongs to.
    func consume(_ chunk: ByteBuffer) {
        var chunk = chunk
        while chunk.readableBytes > 0 || (remaining == 0 && cursor + 1 < fileEntries.count && manifest.entries[fileEntries[cursor + 1]].size == 0) {
            if remaining == 0 {
                finishFile()
                cursor += 1
                guard cursor < fileEntries.count else { return }
                startFile()
                continue
            }
            let count = Int(min(Int64(chunk.readableBytes), remaining))
            if descriptor >= 0 {
                let ok = chunk.withUnsafeReadableBytes { bytes -> Bool in
                    var offset = 0
                    while offset < count {
                        let n = write(descriptor, bytes.baseAddress! + offset, count - offset)
                        if n < 0, errno == EINTR { continue }
                        if n <= 0 { return false }
                        offset += n
                    }
                    return true
                }
                if ok { bytesWritten += Int64(count) } else { systemFailure("cannot write", path(of: fileEntries[cursor])) }
            }
            chunk.moveReaderIndex(forwardBy: count)
            remaining -= Int64(count)
        }
    }

    private func startFile() {
        let entry = fileEntries[cursor]
        remaining = manifest.entries[entry].size
        guard error == nil, keep?.contains(entry) ?? true else { return }
        temporary = temporaryPath(of: entry)
        descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if descriptor < 0 { systemFailure("cannot create", path(of: entry)) }
    }

    private func finishFile() {
        guard cursor >= 0, cursor < fileEntries.count, descriptor >= 0 else { return }
        let index = fileEntries[cursor]
        let entry = manifest.entries[index]
        if settings.preserve {
            if isRoot, fchown(descriptor, entry.uid, entry.gid) != 0 { return systemFailure("cannot set the owner of", path(of: index)) }
            var times = Self.keepingAccessTime(modified: entry.modified)
            if futimens(descriptor, &times) != 0 { return systemFailure("cannot set the time of", path(of: index)) }
        }
        if fchmod(descriptor, settings.preserve ? entry.mode : entry.mode & ~umask & 0o7777) != 0 {
            return systemFailure("cannot set the mode of", path(of: index))
        }
        if settings.extendedAttributes, let failure = ExtendedAttributes.replace(on: .descriptor(descriptor), with: entry.extendedAttributes) {
            return fail("cannot set the extended attributes of \(path(of: index)): \(failure)")
        }
        if close(descriptor) != 0 {
            descriptor = -1
            unlink(temporary)
            return systemFailure("cannot write", path(of: index))
        }
        descriptor = -1
        written[index] = temporary
        if settings.commitEachFile {
            if rename(temporary, path(of: index)) != 0 {
                unlink(temporary)
                systemFailure("cannot put in place", path(of: index))
            } else {
                committedEntries += 1
            }
            written[index] = nil
        }
    }

    /// Called after the last chunk: closes the last file, and notes a stream that ended early.
    func finishData() {
        consume(ByteBuffer())
        finishFile()
        descriptor = -1
        if error == nil, cursor < fileEntries.count - 1 || remaining > 0 {
            fail("the stream ended before \(path(of: fileEntries[max(0, cursor)])) was whole")
        }
    }

    /// Drops the file being written when the stream stopped in its middle
    /// (a member died): it is never renamed into place, even with --keep-partial.
    func abandonCurrentFile() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        unlink(temporary)
        descriptor = -1
    }

    /// Reads every file back and compares its SHA-256 with the source's.
    func verify(against digests: [[UInt8]]) {
        guard error == nil else { return }
        guard digests.count == fileEntries.count else { return fail("the source sent \(digests.count) checksums for \(fileEntries.count) files") }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        for (position, index) in fileEntries.enumerated() {
            guard let temporary = written[index] else { continue }
            let descriptor = open(temporary, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return systemFailure("cannot read back", path(of: index)) }
            defer { close(descriptor) }
            var hasher = SHA256()
            while true {
                let n = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
                if n < 0, errno == EINTR { continue }
                if n < 0 { return systemFailure("cannot read back", path(of: index)) }
                if n == 0 { break }
                buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            if Array(hasher.finalize()) != digests[position] {
                return fail("the checksum of \(path(of: index)) differs from the source's")
            }
        }
    }

    /// Puts every whole file, link and symlink under its real name, and gives
    /// the directories their modes and times (deepest first, after their contents).
    /// `only`: these entries alone (a sync's changes); all by default.
    func commit(only: Set<Int>? = nil) {
        for (index, entry) in manifest.entries.enumerated() where only?.contains(index) ?? true {
            let final = path(of: index)
            switch entry.kind {
            case .directory:
                continue
            case .file:
                guard let temporary = written[index] else { continue }
                if rename(temporary, final) != 0 { systemFailure("cannot put in place", final); continue }
                written[index] = nil
            case .symlink:
                let temporary = temporaryPath(of: index)
                unlink(temporary)
                guard symlink(entry.target, temporary) == 0 else { systemFailure("cannot make the link", final); continue }
                if settings.preserve {
                    if isRoot { lchown(temporary, entry.uid, entry.gid) }
                    var times = Self.keepingAccessTime(modified: entry.modified)
                    utimensat(AT_FDCWD, temporary, &times, AT_SYMLINK_NOFOLLOW)
                }
                if rename(temporary, final) != 0 { unlink(temporary); systemFailure("cannot put in place", final); continue }
            case .hardLink:
                let temporary = temporaryPath(of: index)
                unlink(temporary)
                guard link(destination + "/" + entry.target, temporary) == 0 else { systemFailure("cannot link \(entry.target) as", final); continue }
                if rename(temporary, final) != 0 { unlink(temporary); systemFailure("cannot put in place", final); continue }
            }
            committedEntries += 1
        }
        for (index, entry) in manifest.entries.enumerated().reversed() where entry.kind == .directory && only?.contains(index) ?? true {
            let directory = path(of: index)
            let created = createdDirectories.contains(directory)
            guard settings.preserve || created else {
                committedEntries += 1
                continue
            }
            if settings.preserve {
                if isRoot { chown(directory, entry.uid, entry.gid) }
                var times = Self.keepingAccessTime(modified: entry.modified)
                utimensat(AT_FDCWD, directory, &times, 0)
            }
            if chmod(directory, settings.preserve ? entry.mode : entry.mode & ~umask & 0o7777) != 0 { systemFailure("cannot set the mode of", directory) }
            if settings.extendedAttributes, let failure = ExtendedAttributes.replace(on: .path(directory), with: entry.extendedAttributes) {
                fail("cannot set the extended attributes of \(directory): \(failure)")
            }
            committedEntries += 1
        }
    }

    /// Removes every temporary file and every directory this stage made.
    func removeWhatThisStageWrote() {
        if descriptor >= 0 {
            close(descriptor)
            unlink(temporary)
            descriptor = -1
        }
        for temporary in written.values { unlink(temporary) }
        written.removeAll()
        for directory in createdDirectories.reversed() { rmdir(directory) }
        createdDirectories.removeAll()
    }
}

extension StagedTree {
    /// utimensat's pair: the access time left as it is (UTIME_OMIT, which
    /// Glibc's macro spells as an expression Swift cannot import), the modification time set.
    static func keepingAccessTime(modified: Timestamp) -> [timespec] {
        [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2), timespec(modified)]
    }
}
