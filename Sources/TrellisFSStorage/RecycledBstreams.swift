import Dispatch
import Glibc
import Synchronization

/// Removed bstream files a store keeps to become its next new bstreams.
///
/// ext4 makes a new inode slowly while files were deleted moments before
/// (it passes over recently freed inodes): on this kind of machine a create
/// with 3,901 bytes right after a round of removes runs at about 3,900 files
/// a second against 14,500 on a quiet disk, and every create after a remove
/// pays it, on every copy. A kept file is linked into place instead, with
/// no inode to find (OrangeFS precreates its datafiles for a like reason).
///
/// A removal moves the file here, up to `limit`; the store's helper thread
/// (`tidy`) empties the files removed since it last looked (emptying costs
/// more than the move, and need not hold up the removal) and makes empty
/// ones while fewer than `spareTarget` are kept. Without the thread a
/// removal empties the file itself. A file is handed out emptied or not:
/// it is opened with O_TRUNC.
final class RecycledBstreams: Sendable {
    /// The folder the kept files live in, beside the bstreams.
    let folder: String
    /// The most files kept; past it a removed bstream is unlinked.
    static let limit = 4096
    /// How many `tidy` keeps ready.
    static let spareTarget = 1024
    private let state: Mutex<State>
    /// Told of each removal, so the thread empties it soon.
    private let removals = DispatchSemaphore(value: 0)

    private struct State {
        /// Emptied files.
        var empty: [String] = []
        /// Files moved here by removals and not yet emptied.
        var full: [String] = []
        /// Names handed out for files on their way in.
        var reserved = 0
        var next: UInt64
        /// Whether a thread runs `tidy`.
        var tidied = false
        var count: Int { empty.count + full.count }
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
        state = Mutex(State(full: numbers.map { folder + "/\($0)" }, next: (numbers.max() ?? 0) + 1))
    }

    /// How many files are kept.
    var count: Int { state.withLock { $0.count } }

    /// A name to move a removed bstream to while there is room; the caller
    /// then `keep`s it, or `release`s the name when the move failed.
    func reserve() -> String? {
        state.withLock { state in
            guard state.count + state.reserved < Self.limit else { return nil }
            return Self.newName(&state, folder)
        }
    }

    private static func newName(_ state: inout State, _ folder: String) -> String {
        state.reserved += 1
        defer { state.next += 1 }
        return folder + "/\(state.next)"
    }

    /// The file a removal moved to a reserved name is kept (emptied here
    /// unless a thread runs `tidy`).
    func keep(_ path: String) {
        let tidied = state.withLock { $0.tidied }
        if !tidied { _ = truncate(path, 0) }
        state.withLock { state in
            state.reserved -= 1
            if tidied { state.full.append(path) } else { state.empty.append(path) }
        }
        if tidied { removals.signal() }
    }

    /// A reserved name was not used.
    func release() { state.withLock { $0.reserved -= 1 } }

    /// A kept file to become a new bstream, emptied if one is (nil: none
    /// kept); `giveBack` it when it could not.
    func take() -> String? { state.withLock { $0.empty.popLast() ?? $0.full.popLast() } }

    /// A taken file stays kept (to be emptied again).
    func giveBack(_ path: String) { state.withLock { $0.full.append(path) } }

    /// Runs `tidy` until `keepsGoing` says stop, waiting for removals (or a
    /// second) when there is nothing to do.
    func tidyWhile(_ keepsGoing: () -> Bool) {
        state.withLock { $0.tidied = true }
        while keepsGoing() {
            if tidy() == 0 { _ = removals.wait(timeout: .now() + .seconds(1)) }
        }
    }

    /// Empties up to `batch` removed files, then makes empty ones up to
    /// `batch` while fewer than `spareTarget` are kept (none once one
    /// cannot be made: a full disk); returns how many files it handled.
    @discardableResult
    func tidy(batch: Int = 64) -> Int {
        var handled = 0
        while handled < batch, let path = state.withLock({ $0.full.popLast() }) {
            _ = truncate(path, 0)
            state.withLock { $0.empty.append(path) }
            handled += 1
        }
        var made = 0
        while made < batch {
            let name: String? = state.withLock { state in
                state.count + state.reserved < Self.spareTarget ? Self.newName(&state, folder) : nil
            }
            guard let name else { break }
            let descriptor = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                release()
                break
            }
            close(descriptor)
            state.withLock { state in
                state.reserved -= 1
                state.empty.append(name)
            }
            made += 1
        }
        return handled + made
    }
}
