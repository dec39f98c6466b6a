import Glibc
import Synchronization

/// The threads inside a commit shared with other requests (a store's
/// `sharingOneCommit`), which must never wait on a peer server: the peer's
/// request may need a serving thread that is itself waiting for that
/// database. Debug builds keep the count and check it where a server waits
/// on a peer; release builds keep nothing.
public enum CommitHolders {
    #if DEBUG
    private static let holders = Mutex<[UInt: Int]>([:])
    #endif

    static func enter() {
        #if DEBUG
        holders.withLock { $0[UInt(pthread_self()), default: 0] += 1 }
        #endif
    }

    static func leave() {
        #if DEBUG
        holders.withLock { holders in
            let key = UInt(pthread_self())
            holders[key] = (holders[key] ?? 1) > 1 ? holders[key]! - 1 : nil
        }
        #endif
    }

    /// Stops a debug build where the calling thread, inside a shared commit,
    /// is about to wait on `what`.
    public static func checkNoneHeld(waitingOn what: @autoclosure () -> String) {
        #if DEBUG
        let held = holders.withLock { $0[UInt(pthread_self())] ?? 0 }
        precondition(held == 0, "a thread inside a shared commit waits on \(what()): no thread may wait on a peer while it holds a database")
        #endif
    }
}
