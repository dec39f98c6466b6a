import TrellisCore

/// Anything that can be waited on: every `Request`, whatever its value.
public protocol Waitable: Sendable {
    /// The operation's shared state, through which `waitAll` and `waitAny` wait on it.
    var requestCore: RequestCore { get }
}

/// A pending nonblocking operation. Every wait takes an optional deadline;
/// every request can be cancelled.
///
/// ```swift
/// let incoming = try world.ireceive(from: .any, tag: 7)
/// let outgoing = try world.isend(ByteBuffer(string: "hi"), to: 1, tag: 7)
/// try outgoing.wait()
/// let message = try incoming.wait(timeout: .seconds(5))
/// ```
public struct Request<Value: Sendable>: Waitable {
    /// The operation's shared state (`Waitable`).
    public let requestCore: RequestCore
    let transform: @Sendable (RequestOutput) throws -> Value

    init(core: RequestCore, transform: @escaping @Sendable (RequestOutput) throws -> Value) {
        self.requestCore = core
        self.transform = transform
    }

    /// Whether the operation has finished (successfully or not).
    public var isComplete: Bool { requestCore.isDone }

    /// Blocks until the operation finishes or the deadline passes. A timeout
    /// leaves the request pending: wait again, or cancel it.
    @discardableResult
    public func wait(deadline: Deadline? = nil) throws -> Value {
        try requestCore.engine.wait(for: requestCore, deadline: deadline)
        return try value()
    }

    /// Blocks until the operation finishes or `timeout` has passed, as
    /// `wait(deadline:)` with a deadline that far ahead.
    @discardableResult
    public func wait(timeout: Duration) throws -> Value {
        try wait(deadline: .after(timeout))
    }

    /// Makes progress once without blocking; the value if finished, else nil.
    public func test() throws -> Value? {
        requestCore.engine.progressOnce()
        guard requestCore.isDone else { return nil }
        return try value()
    }

    /// Withdraws the operation if it has not been matched yet. Returns true
    /// when it was withdrawn; waiting on it then throws `cancelled`.
    @discardableResult
    public func cancel() -> Bool {
        requestCore.engine.cancel(requestCore)
    }

    private func value() throws -> Value {
        let outcome = requestCore.engine.outcome(of: requestCore)
        switch outcome {
        case .success(let output): return try transform(output)
        case .failure(let error): throw error
        }
    }
}

extension Request where Value == Void {
    init(core: RequestCore) { self.init(core: core, transform: { _ in () }) }
}

/// Waits for every request; throws the first failure after all have finished
/// (or when the deadline passes).
public func waitAll(_ requests: [any Waitable], deadline: Deadline? = nil) throws {
    guard let engine = requests.first?.requestCore.engine else { return }
    let cores = requests.map { $0.requestCore }
    try engine.wait(deadline: deadline, label: "\(cores.count) requests") { cores.allSatisfy { $0.isDone } }
    var failures: [TrellisError] = []
    for core in cores {
        if case .failure(let error) = engine.outcome(of: core) { failures.append(error) }
    }
    if let first = failures.first {
        if failures.count == 1 { throw first }
        throw TrellisError(first.code, "\(failures.count) of \(cores.count) requests failed; first: \(first.message)", underlying: first)
    }
}

/// Waits until at least one request finishes and returns the index of the
/// first finished one. Its outcome is read with its own `wait()`.
public func waitAny(_ requests: [any Waitable], deadline: Deadline? = nil, progress: WaitProgress = .polls) throws -> Int {
    guard let engine = requests.first?.requestCore.engine else {
        throw TrellisError(.invalidArgument, "waitAny needs at least one request")
    }
    let cores = requests.map { $0.requestCore }
    try engine.wait(deadline: deadline, label: "any of \(cores.count) requests", polls: progress == .polls) { cores.contains { $0.isDone } }
    return cores.firstIndex { $0.isDone }!
}
