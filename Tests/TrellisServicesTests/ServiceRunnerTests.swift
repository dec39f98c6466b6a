import Dispatch
import Logging
import Synchronization
import Testing
import TrellisCore
import TrellisServices

@Suite struct ServiceRunnerTests {
    /// A loop that waits until it is stopped.
    final class StoppableLoop: Sendable {
        let stopped = Mutex(false)
        private let stopping = DispatchSemaphore(value: 0)
        var service: BlockingService {
            BlockingService("waits", run: { [self] in stopping.wait() }, stop: { [self] in
                stopped.withLock { $0 = true }
                stopping.signal()
            })
        }
    }

    /// An unmounted mount's loop returns: its process ends as it should, not with "finished unexpectedly".
    @Test func aServiceThatReturnsEndsTheOthersWithoutAnError() throws {
        let other = StoppableLoop()
        let done = BlockingService("done", run: {}, stop: {})
        try ServiceRunner.runUntilSignalled([other.service, done], logger: Logger(label: "test"))
        #expect(other.stopped.withLock { $0 })
    }

    @Test func aServiceThatFailsEndsTheOthersAndItsErrorIsThrown() {
        let other = StoppableLoop()
        let failing = BlockingService("fails", run: { throw TrellisError(.systemCall, "the disk went away") }, stop: {})
        #expect(throws: TrellisError.self) {
            try ServiceRunner.runUntilSignalled([other.service, failing], logger: Logger(label: "test"))
        }
        #expect(other.stopped.withLock { $0 })
    }
}
