import NIOCore
import Synchronization
import TrellisCore
import TrellisWire

/// What a finished operation produced, before its request turns it into the
/// caller's type.
enum RequestOutput: @unchecked Sendable {
    case none
    case message(Message)
    case buffer(ByteBuffer)
    case optionalBuffer(ByteBuffer?)
    case buffers([ByteBuffer])
    case optionalBuffers([ByteBuffer]?)
    case communicator(Communicator)
    case agreement(AgreementDecision)
}

/// The shared state of one pending operation. Everything but `isDone` is
/// guarded by the progress engine's lock; `isDone` can be read anywhere, so a
/// waiter can check for completion without taking the lock.
public final class RequestCore: @unchecked Sendable {
    unowned let engine: ProgressEngine
    /// Names the operation in errors ("receive from rank 3, tag 7").
    let label: RequestLabel
    private(set) var outcome: Result<RequestOutput, TrellisError>?
    private let done = Atomic<Bool>(false)
    /// Withdraws the operation if it has not started to move; returns whether it did.
    var cancelHandler: (() -> Bool)?
    /// Internal chaining: a collective step learns that its send or receive finished.
    var continuation: ((Result<RequestOutput, TrellisError>) -> Void)?

    init(engine: ProgressEngine, label: RequestLabel) {
        self.engine = engine
        self.label = label
    }

    var isDone: Bool { done.load(ordering: .acquiring) }

    /// Records the outcome once; later calls are ignored. Lock held.
    func complete(_ result: Result<RequestOutput, TrellisError>) {
        guard outcome == nil else { return }
        outcome = result
        cancelHandler = nil
        done.store(true, ordering: .releasing)
        engine.requestCompleted()
        if let continuation {
            self.continuation = nil
            continuation(result)
        }
    }

    func succeed(_ output: RequestOutput = .none) { complete(.success(output)) }
    func fail(_ error: TrellisError) { complete(.failure(error)) }
}

/// What a request is for, kept cheap to build and described only when needed.
enum RequestLabel: CustomStringConvertible, Sendable {
    case send(destination: Int, tag: Int)
    case receive(SourceSelector, TagSelector)
    case collective(String, ContextID)
    case oneSided(OneSidedOperation, rank: Int)
    case other(String)

    var description: String {
        switch self {
        case .send(let destination, let tag): return "send to rank \(destination), tag \(tag)"
        case .receive(let source, let tag): return "receive from \(source), \(tag)"
        case .collective(let name, let context): return "\(name) on \(context)"
        case .oneSided(let operation, let rank): return "one-sided \(operation) at window rank \(rank)"
        case .other(let text): return text
        }
    }
}
