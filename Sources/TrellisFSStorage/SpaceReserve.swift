import Glibc

/// A file that holds back some disk space, so a server whose disk filled
/// up can still commit the removals that free it (the metadata database),
/// or the promise of a vote (a replica-group epoch). Not thread-safe: its
/// owner's lock guards it.
public final class SpaceReserve: @unchecked Sendable {
    /// The reserve file.
    public let path: String
    /// The space it holds back.
    public let bytes: Int
    private var present = false
    private var attemptsSinceRelease = 0

    /// A reserve of `bytes` at `path`, not made yet (`refill` makes it).
    public init(path: String, bytes: Int) {
        self.path = path
        self.bytes = bytes
    }

    /// Makes the reserve when there is room for it; true when it exists.
    @discardableResult
    public func refill() -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        present = posix_fallocate(descriptor, 0, off_t(bytes)) == 0
        if !present { _ = ftruncate(descriptor, 0) }
        return present
    }

    /// After a release, tries again now and then (each try is a syscall or two).
    public func refillIfMissing() {
        guard !present else { return }
        attemptsSinceRelease += 1
        if attemptsSinceRelease % 16 == 1 { refill() }
    }

    /// Frees the reserve; false when there was none to free.
    public func release() -> Bool {
        guard present else { return false }
        present = false
        attemptsSinceRelease = 0
        return unlink(path) == 0
    }
}
