/// A request the application completes itself, as MPI's generalized
/// requests (`MPI_Grequest_start`, `MPI_Grequest_complete`) are. A loop
/// that waits on messages with `waitAny` can wait on an event of its own
/// beside them (a request to stop, say) instead of waking up now and then
/// to look at a flag.
///
/// ```swift
/// let stop = runtime.startGeneralizedRequest("stop of the echo service")
/// // on a signal, from any thread:
/// stop.complete()
/// // in the serving loop:
/// if try waitAny([stop, incoming]) == 0 { return }
/// ```
public struct GeneralizedRequest: Waitable {
    /// The request's shared state (`Waitable`).
    public let requestCore: RequestCore

    init(engine: ProgressEngine, label: String) {
        requestCore = RequestCore(engine: engine, label: .other(label))
    }

    /// Whether `complete` has been called.
    public var isComplete: Bool { requestCore.isDone }

    /// Marks the request done and wakes whichever thread waits on it; later calls do nothing. Any thread.
    public func complete() {
        requestCore.engine.completeFromOutside(requestCore)
    }
}

extension Runtime {
    /// A request that completes when the application says so; `label` names it in timeouts.
    public func startGeneralizedRequest(_ label: String) -> GeneralizedRequest {
        GeneralizedRequest(engine: engine, label: label)
    }
}
