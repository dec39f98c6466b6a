import NIOCore
import TrellisCore

/// A collective written as a list of steps. Each step posts its receives and
/// sends at once; when all of them finish, its `then` runs and the next step
/// starts. Payload closures run when their step starts, so a step can send
/// what an earlier step received; `then` may append steps, for algorithms
/// that learn their shape from the data (a broadcast learns its size).
///
/// Schedules are plain values built by pure functions of (rank, size,
/// inputs), the way libNBC builds nonblocking collectives, so every
/// collective is nonblocking and the blocking form is just `wait()`.
final class CollectiveSchedule {
    struct Step {
        var sends: [(to: Int, payload: () throws -> ByteBuffer)] = []
        var receives: [(from: Int, deliver: (ByteBuffer) throws -> Void)] = []
        /// Operations other than messages that the step waits for (the
        /// root's handshake in connect / accept): started with the lock held.
        var operations: [(start: () -> RequestCore, deliver: (RequestOutput) throws -> Void)] = []
        var then: (() throws -> Void)?
    }

    var steps: [Step] = []
    var result: () throws -> RequestOutput = { .none }

    /// Drops the steps and their closures once the collective is over, so
    /// that no closure that captured the schedule or its state keeps buffers alive.
    func release() {
        steps.removeAll()
        result = { .none }
    }

    /// Adds a step built by `build`.
    func step(_ build: (inout Step) -> Void) {
        var step = Step()
        build(&step)
        steps.append(step)
    }
}

/// Carries a schedule out on a communicator. Lives under the engine lock:
/// every callback here runs with it held.
final class CollectiveRun {
    private let communicator: Communicator
    private let engine: ProgressEngine
    private let schedule: CollectiveSchedule
    private let tag: Int
    let request: RequestCore
    private var stepIndex = 0
    private var outstanding = 0
    private var finished = false
    private var postedReceives: [RequestCore] = []
    private var startedOperations: [RequestCore] = []

    init(communicator: Communicator, schedule: CollectiveSchedule, tag: Int, request: RequestCore) {
        self.communicator = communicator
        self.engine = communicator.engine
        self.schedule = schedule
        self.tag = tag
        self.request = request
    }

    func start() { advance() }

    private func advance() {
        while !finished && stepIndex < schedule.steps.count {
            let step = schedule.steps[stepIndex]
            postedReceives.removeAll(keepingCapacity: true)
            startedOperations.removeAll()
            // One extra count held while posting, so operations that finish at
            // once cannot close the step before every operation is posted.
            outstanding = 1
            // Payloads are taken before any receive is posted: a receive can
            // complete at once and change the state a payload is read from.
            var payloads: [ByteBuffer] = []
            for send in step.sends {
                do { payloads.append(try send.payload()) } catch {
                    fail(error, peer: send.to)
                    return
                }
            }
            for receive in step.receives {
                outstanding += 1
                let core = RequestCore(engine: engine, label: .other("collective receive from rank \(receive.from)"))
                core.continuation = { [self] result in
                    switch result {
                    case .success(.message(let message)):
                        do { try receive.deliver(message.payload) } catch { fail(error, peer: receive.from) }
                        operationFinished()
                    case .success:
                        operationFinished()
                    case .failure(let error):
                        fail(error, peer: receive.from)
                    }
                }
                postedReceives.append(core)
                engine.postReceive(
                    space: communicator.collectiveSpace, source: receive.from, tag: tag,
                    sourceProcess: communicator.process(ofRank: receive.from), request: core)
                if finished { return }
            }
            for (send, payload) in zip(step.sends, payloads) {
                outstanding += 1
                let core = RequestCore(engine: engine, label: .other("collective send to rank \(send.to)"))
                core.continuation = { [self] result in
                    if case .failure(let error) = result { fail(error, peer: send.to) } else { operationFinished() }
                }
                engine.postSend(
                    payload, to: communicator.process(ofRank: send.to),
                    envelope: Envelope(space: communicator.collectiveSpace, sourceRank: communicator.rank, tag: tag),
                    request: core)
                if finished { return }
            }
            for operation in step.operations {
                outstanding += 1
                let core = operation.start()
                startedOperations.append(core)
                let handle: (Result<RequestOutput, TrellisError>) -> Void = { [self] result in
                    switch result {
                    case .success(let output):
                        do { try operation.deliver(output) } catch { fail(error, peer: nil) }
                        operationFinished()
                    case .failure(let error):
                        fail(error, peer: nil)
                    }
                }
                if let outcome = core.outcome { handle(outcome) } else { core.continuation = handle }
                if finished { return }
            }
            outstanding -= 1
            if outstanding > 0 || finished { return }
            finishStep()
        }
        if !finished && stepIndex == schedule.steps.count {
            finished = true
            do { request.succeed(try schedule.result()) } catch { request.fail(wrap(error, peer: nil)) }
            schedule.release()
        }
    }

    private func operationFinished() {
        guard !finished else { return }
        outstanding -= 1
        if outstanding == 0 {
            finishStep()
            advance()
        }
    }

    private func finishStep() {
        let step = schedule.steps[stepIndex]
        engine.logger.trace(
            "\(request.label) rank \(communicator.rank): step \(stepIndex) done (sent to \(step.sends.map(\.to)), received from \(step.receives.map(\.from)))")
        stepIndex += 1
        do { try step.then?() } catch { fail(error, peer: nil) }
    }

    /// Withdraws what the collective waits for and fails it as cancelled.
    /// Sends already handed to the network complete on their own; members
    /// that did not cancel may then wait on this one, so cancel a collective
    /// at every member (or revoke the communicator).
    func cancel() -> Bool {
        guard !finished else { return false }
        fail(TrellisError(.cancelled, "\(request.label) was cancelled"), peer: nil)
        return true
    }

    private func fail(_ error: Error, peer: Int?) {
        guard !finished else { return }
        finished = true
        for core in postedReceives + startedOperations where !core.isDone {
            if let withdraw = core.cancelHandler, withdraw() { core.continuation = nil }
        }
        request.fail(wrap(error, peer: peer))
        schedule.release()
    }

    private func wrap(_ error: Error, peer: Int?) -> TrellisError {
        let cause = error as? TrellisError ?? TrellisError(.invalidArgument, "\(error)")
        if cause.code == .cancelled { return cause }
        let who = peer.map { " with rank \($0)" } ?? ""
        return TrellisError(cause.code, "\(request.label) at rank \(communicator.rank) failed\(who): \(cause.message)", underlying: cause)
    }
}

extension Communicator {
    /// Starts a collective from its schedule and returns its request.
    /// Internal schedules (merge) may run between the roots of an intercommunicator.
    func startCollective(_ name: String, _ schedule: CollectiveSchedule, onIntercommunicator: Bool = false) throws -> RequestCore {
        if !onIntercommunicator { try requireIntracommunicator(name) }
        let core = RequestCore(engine: engine, label: .collective(name, context))
        try engine.lock.withLock {
            try checkCollectiveUsable()
            let run = CollectiveRun(communicator: self, schedule: schedule, tag: nextCollectiveTag(), request: core)
            core.cancelHandler = { run.cancel() }
            run.start()
        }
        return core
    }
}
