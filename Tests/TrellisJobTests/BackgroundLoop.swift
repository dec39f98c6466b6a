import Foundation
import Synchronization

/// Work a test runs beside what it checks, on a thread of its own. `finish`
/// asks it to stop and waits until it has; however the test ends, the loop
/// is finished when this goes (a loop left running would keep its fixture,
/// and the fixture's servers, alive).
final class BackgroundLoop: Sendable {
    private final class StopFlag: Sendable {
        let requested = Atomic(false)
    }

    private let stop = StopFlag()
    private let done = DispatchSemaphore(value: 0)
    private let joined = Mutex(false)

    /// `body` runs once; it should return soon after `shouldStop()` turns true.
    init(_ body: @escaping @Sendable (_ shouldStop: () -> Bool) -> Void) {
        let thread = Thread { [stop, done] in
            body { stop.requested.load(ordering: .relaxed) }
            done.signal()
        }
        thread.start()
    }

    func finish() {
        stop.requested.store(true, ordering: .relaxed)
        joined.withLock { joined in
            if !joined { done.wait() }
            joined = true
        }
    }

    deinit { finish() }
}
