import Glibc
import ServiceLifecycle
import TrellisCore
import TrellisSystem

/// A component whose work is a blocking loop (a file-system server waiting
/// on its clients, a FUSE session, the name service's event loop) as a
/// swift-service-lifecycle `Service`: the loop runs on a thread of its own
/// until it returns, and graceful shutdown or cancellation calls `stop`,
/// which makes it return. The loop itself waits on events, never on a timer
/// that checks a flag.
///
/// ```swift
/// let server = try FileSystemServer(configuration: configuration, index: 0)
/// let service = BlockingService("server 0", run: { try server.run() }, stop: server.stop)
/// try ServiceRunner.runUntilSignalled([service], logger: logger)
/// ```
public struct BlockingService: Service {
    /// Names the component in errors, such as a thread that could not start.
    public let name: String
    private let body: @Sendable () throws -> Void
    private let stop: @Sendable () -> Void

    /// `stop` may be called from any thread, before `run` starts, and more than once.
    public init(_ name: String, run: @escaping @Sendable () throws -> Void, stop: @escaping @Sendable () -> Void) {
        self.name = name
        body = run
        self.stop = stop
    }

    /// Runs the loop on a thread of its own until it returns; graceful shutdown
    /// or cancellation calls `stop`. Throws what the loop throws, or `systemCall`
    /// when no thread could be started.
    public func run() async throws {
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (finished: CheckedContinuation<Void, any Error>) in
                let body = self.body
                // Named after the component (cut to the system's 15 bytes), for `top -H` and `perf`.
                let thread = startThread(named: name) {
                    do {
                        try body()
                        finished.resume()
                    } catch {
                        finished.resume(throwing: error)
                    }
                }
                if let thread {
                    pthread_detach(thread)
                } else {
                    finished.resume(throwing: TrellisError(.systemCall, "could not start a thread for \(name)"))
                }
            }
        } onCancelOrGracefulShutdown: { [stop] in
            stop()
        }
    }
}
