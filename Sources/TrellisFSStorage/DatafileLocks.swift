import Synchronization
import TrellisFSProtocol

/// Locks by datafile (a fixed set, each shared by the datafiles that hash to
/// it), so that no read or write still holds a bstream's file when its
/// removal moves that file away to be kept for another datafile.
final class DatafileLocks: Sendable {
    private final class Lock: Sendable {
        let mutex = Mutex(())
    }
    private let locks: [Lock] = (0..<64).map { _ in Lock() }

    /// Runs `body` holding `datafile`'s lock.
    func withLock<T>(_ datafile: ObjectHandle, _ body: () throws -> T) rethrows -> T {
        let lock = locks[Int(datafile.rawValue % UInt64(locks.count))]
        return try lock.mutex.withLock { _ in try body() }
    }
}
