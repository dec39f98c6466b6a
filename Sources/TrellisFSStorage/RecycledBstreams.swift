import Glibc
import Synchronization

/// Emptied bstream files a store keeps to become its next new bstreams.
///
/// ext4 makes a new inode slowly while files were deleted moments before
/// (it passes over recently freed inodes): on this kind of machine a create
/// with 3,901 bytes right after a round of removes runs at about 3,900 files
/// a second against 14,500 on a quiet disk, and every create after a remove
/// pays it, on every copy. A kept file is linked into place instead, with
/// no inode to find (OrangeFS precreates its datafiles for a like reason).
/// A removal empties the file and keeps it, up to `limit`; while fewer than
/// `spareTarget` are kept, `makeSpares` makes empty ones ahead of need.
final class RecycledBstreams: Sendable {
    /// The folder the kept files live in, beside the bstreams.
    let folder: String
    /// The most files kept; past it a removed bstream is unlinked.
    static let limit = 4096
    /// How many `makeSpares` keeps ready.
    static let spareTarget = 1024
    private let state: Mutex<State>

    private struct State {
        var paths: [String]
        /// Names handed out for files on their way in.
        var reserved = 0
        var next: UInt64
    }

    /// The kept files in `folder` (made, mode 0700, when missing).
    init(folder: String) throws {
        self.folder = folder
        guard mkdir(folder, 0o700) == 0 || errno == EEXIST else { throw BstreamStore.error("making \(folder)", errno) }
        guard let directory = opendir(folder) else { throw BstreamStore.error("listing \(folder)", errno) }
        defer { closedir(directory) }
        var numbers: [UInt64] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let number = UInt64(name) else { continue }
            // Linked into place as a bstream when the process died before it let go of it: that bstream's now.
            var status = stat()
            if stat(folder + "/\(number)", &status) == 0, status.st_nlink > 1 {
                unlink(folder + "/\(number)")
                continue
            }
            numbers.append(number)
        }
        state = Mutex(State(paths: numbers.map { folder + "/\($0)" }, next: (numbers.max() ?? 0) + 1))
    }

    /// How many files are kept.
    var count: Int { state.withLock { $0.paths.count } }

    /// A name to move a removed bstream to while there is room; the caller
    /// then `keep`s it, or `release`s the name when the move failed.
    func reserve() -> String? {
        state.withLock { state in
            guard state.paths.count + state.reserved < Self.limit else { return nil }
            state.reserved += 1
            defer { state.next += 1 }
            return folder + "/\(state.next)"
        }
    }

    /// The file moved to a reserved name is kept.
    func keep(_ path: String) {
        state.withLock { state in
            state.reserved -= 1
            state.paths.append(path)
        }
    }

    /// A reserved name was not used.
    func release() { state.withLock { $0.reserved -= 1 } }

    /// A kept file to become a new bstream (nil: none kept); `giveBack` it when it could not.
    func take() -> String? { state.withLock { $0.paths.popLast() } }

    /// Makes up to `batch` empty files while fewer than `spareTarget` are
    /// kept (none once one cannot be made: a full disk); returns how many.
    func makeSpares(batch: Int = 64) -> Int {
        var made = 0
        while made < batch {
            let name: String? = state.withLock { state in
                guard state.paths.count + state.reserved < Self.spareTarget else { return nil }
                state.reserved += 1
                defer { state.next += 1 }
                return folder + "/\(state.next)"
            }
            guard let name else { break }
            let descriptor = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                release()
                break
            }
            close(descriptor)
            keep(name)
            made += 1
        }
        return made
    }

    /// A taken file stays kept.
    func giveBack(_ path: String) { state.withLock { $0.paths.append(path) } }
}
