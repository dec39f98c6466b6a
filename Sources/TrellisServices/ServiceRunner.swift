import Logging
import Dispatch
import ServiceLifecycle
import Synchronization

/// Runs a process's long-lived components as one swift-service-lifecycle
/// `ServiceGroup`: SIGTERM and SIGINT start a graceful shutdown, which
/// reaches the services in the reverse of the order given. The first
/// service to return ends the others gracefully (a mount whose file system
/// was unmounted is done, not failed); the first to fail cancels them.
public enum ServiceRunner {
    /// From synchronous code (a command's `run`): blocks until the group ends; rethrows the first failure.
    public static func runUntilSignalled(_ services: [any Service], logger: Logger) throws {
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        let outcome = Outcome()
        let finished = DispatchSemaphore(value: 0)
        Task {
            do { try await group.run() } catch { outcome.failure.withLock { $0 = error } }
            finished.signal()
        }
        finished.wait()
        if let failure = outcome.failure.withLock({ $0 }) { throw failure }
    }

    private final class Outcome: Sendable {
        let failure = Mutex<(any Error)?>(nil)
    }
}
