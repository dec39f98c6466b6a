import DequeModule
import Glibc
import Logging
import NIOCore
import TrellisCore
import TrellisFSProtocol
import TrellisRuntime
import TrellisSystem

/// The requests of one port, served by one thread: it publishes the port
/// under a service name, accepts clients without a thread parked in accept,
/// and answers their requests, one turn at a time (the requests that arrived
/// together share one metadata commit). A client that dies or sends garbage
/// costs only its own session. A server runs one for the objects it is
/// primary of, and one for each replica group it keeps a copy of.
final class ServingLoop: @unchecked Sendable {
    private struct Session {
        var client: Communicator
        var pending: Request<Message>
        /// Its host as the socket has it, and the identity it proved, for every request it sends.
        var origin: RequestOrigin
    }

    /// The handler that answers its requests.
    let handler: RequestHandler
    /// The name its port is published under.
    let serviceName: String
    private let runtime: Runtime
    private let logger: Logger
    /// Who serves, for logs: "server 1", "group 2's replica on server 1".
    private let label: String
    /// Completed by `stop`; the loop waits on it beside the clients, so it needs no timeout to notice.
    private let stopRequest: GeneralizedRequest
    private var sessions: [Session] = []
    private var replies: [Request<Void>] = []
    /// Replies held until the changes before them are on every secondary, oldest first.
    private var held = Deque<HeldReplies>()

    /// Answers that go out once `passage` is done: those of the commit it
    /// carries, and any answer made after it while it was on its way, so
    /// that no client hears of a change, or reads one, that a failover could lose.
    private struct HeldReplies {
        let passage: Passage
        var answers: [Answer]
    }

    /// A reply ready to go, with the request it answers, its client, and the work to do once it is sent.
    private struct Answer {
        let envelope: FSRequestEnvelope
        let client: Communicator
        let reply: FSReplyEnvelope
        let followUps: [FollowUp]
        /// Whether it was made in the turn whose changes the passage it waits
        /// for carries: a change it answers fails when that passage fails.
        var inPassage = false
    }

    init(handler: RequestHandler, runtime: Runtime, serviceName: String, label: String, logger: Logger) {
        self.handler = handler
        self.runtime = runtime
        self.serviceName = serviceName
        self.label = label
        self.logger = logger
        stopRequest = runtime.startGeneralizedRequest("stop of \(label)")
    }

    /// Asks its thread to leave it after the request in hand (safe from any thread).
    func stop() { stopRequest.complete() }

    /// Done once `stop` is called.
    var stopped: any Waitable { stopRequest }

    /// Where it stands between turns: what it waits on, and the port it accepts on.
    private var port: Port?
    private var accept: Request<Communicator>?
    /// How many sessions the requests handed out last by `requestsToWaitOn` had.
    private var sessionsWaitedOn = 0

    /// Opens its port and publishes it; returns the port's name, which clients connect to.
    func open() throws -> String {
        let port = runtime.openPort()
        do {
            try runtime.publish(name: serviceName, port: port.name.description)
            accept = try runtime.selfCommunicator.iaccept(port)
        } catch {
            try? runtime.unpublish(name: serviceName)
            port.close()
            throw error
        }
        self.port = port
        logger.info("\(label) serving as \(serviceName) at \(port.name)")
        handler.context.secondaries?.attend()
        return port.name.description
    }

    /// What the next turn waits on: its stop, the next client, each
    /// session's next request, the passage its oldest held replies wait for,
    /// and its copies' answers. Sends the replies whose changes are done first.
    func requestsToWaitOn() -> [any Waitable] {
        replies.removeAll { $0.isComplete }
        // This loop takes its copies' answers itself (no thread hands them over), then waits on the next.
        let arrivals = handler.context.secondaries?.current?.oldestArrivals ?? []
        releaseHeldReplies()
        let passing = held.first.map { [$0.passage.completion] } ?? []
        sessionsWaitedOn = sessions.count
        return [stopRequest, accept!] + sessions.map { $0.pending } + passing + arrivals
    }

    /// Serves what finished: `ready` indexes the last `requestsToWaitOn`.
    /// Returns false once it is stopped.
    func serve(ready: Int) throws -> Bool {
        if ready == 0 { return false }
        if ready >= 2 + sessionsWaitedOn { return true }
        if ready == 1 {
            do {
                let client = try accept!.wait()
                sessions.append(Session(client: client, pending: try Self.nextMessage(from: client), origin: RequestOrigin(host: client.connectedHost(ofRank: 0))))
                handler.metrics.sessions.record(sessions.count)
            } catch {
                logger.warning("\(label): a client failed to connect: \(error)")
            }
            accept = try runtime.selfCommunicator.iaccept(port!)
            return true
        }
        serveReadySessions(first: ready - 2)
        return true
    }

    /// Answers what it holds once its changes are done, says goodbye to its
    /// clients and withdraws its port.
    func close() {
        guard let port else { return }
        accept?.cancel()
        handler.context.secondaries?.stopAttending()
        while let next = held.first {
            _ = next.passage.outcome()
            releaseHeldReplies()
        }
        // What no reply waits for (a removed file's bstreams) reaches the copies too before the loop ends.
        try? handler.context.secondaries?.catchUp()
        for session in sessions {
            session.pending.cancel()
            _ = session.client.idisconnect()
        }
        sessions = []
        try? runtime.unpublish(name: serviceName)
        port.close()
        self.port = nil
    }

    /// The most requests one session has served in one turn, so a busy client cannot starve the others.
    static let mostPerSessionAndTurn = 64

    /// Whatever a client sends next, on any tag: messages on other tags
    /// than requests are taken and dropped, so none can pile up here (or
    /// leave its sender waiting for a receive that never comes).
    private static func nextMessage(from client: Communicator) throws -> Request<Message> {
        try client.ireceive(from: .rank(0), tag: .any)
    }

    /// Serves the session that woke the loop and every other whose request
    /// has arrived too. Those that may fan out get threads (each change of
    /// theirs commits alone, and their recorded reply after it); the rest
    /// share one metadata commit with their recorded replies, so a burst of
    /// creates costs one sync to disk and a reply is kept with its change.
    private func serveReadySessions(first: Int) {
        let ready = sessions.indices.filter { $0 == first || sessions[$0].pending.isComplete }
        // From the back, so removing a departed session leaves the other positions valid. A session
        // gives every request that has arrived (a primary sends its changes without waiting for each answer).
        var arrived: [Int: [(FSRequestEnvelope, Communicator)]] = [:]
        for position in ready.reversed() {
            var taken: [(FSRequestEnvelope, Communicator)] = []
            while taken.count < Self.mostPerSessionAndTurn {
                let count = sessions.count
                if let request = takeRequest(sessionAt: position) { taken.append(request) }
                guard sessions.count == count, sessions[position].pending.isComplete else { break }
            }
            arrived[position] = taken
        }
        let requests = ready.flatMap { arrived[$0] ?? [] }
        handler.metrics.readyRequests.record(requests.count)
        var local: [(envelope: FSRequestEnvelope, client: Communicator)] = []
        for (envelope, client) in requests {
            // It may wait on other servers, which may be waiting on this one: never in this loop.
            if handler.mayWaitOnPeers(envelope.operation), answerOnAThreadOfItsOwn(envelope, to: client) { continue }
            local.append((envelope, client))
        }
        // In the order they came, around any that takes the database for a transaction of its own.
        var sharing: [(envelope: FSRequestEnvelope, client: Communicator)] = []
        for request in local {
            guard handler.runsAlone(request.envelope.operation) else {
                sharing.append(request)
                continue
            }
            serve(sharing)
            sharing = []
            serve([request])
        }
        serve(sharing)
    }

    /// Answers `local` (requests served on the loop's thread, in order): in
    /// one commit with their recorded replies when any of them commits.
    private func serve(_ local: [(envelope: FSRequestEnvelope, client: Communicator)]) {
        guard !local.isEmpty else { return }
        // Even one request that commits shares a commit with its recorded reply.
        guard local.contains(where: { type(of: $0.envelope.operation).commits }) else {
            // A write on its way to the secondaries holds its reply, not the loop.
            let answers = local.map { envelope, client in answering(envelope, client, callerTakesPassage: true) }
            let passage = handler.context.secondaries?.takePassage()
            deliver(answers.map { answer in
                var answer = answer
                answer.inPassage = passage != nil
                return answer
            }, passage: passage)
            return
        }
        let answers: [(reply: FSReplyEnvelope, followUps: [FollowUp])]
        do {
            answers = try handler.context.metadata.sharingOneCommit { local.map { handler.handle($0.envelope) } }
        } catch {
            // Nothing of the group was kept: each request runs again in a commit of its own.
            logger.warning("\(label): a group commit failed (\(error)); answering its \(local.count) requests one by one")
            deliver(local.map { envelope, client in answering(envelope, client) }, passage: nil)
            return
        }
        // The commit is on its way to the secondaries: the loop serves the next requests meanwhile.
        let passage = handler.context.secondaries?.takePassage()
        deliver(zip(local, answers).compactMap { request, answer in
            // A request that found it must wait on peers after all (a create whose pool others emptied since
            // it came, a stat of a file spread meanwhile) is answered again on a thread of its own.
            var reply = answer.reply
            if case .failure(let error) = reply.result, error.code == .needsPeers {
                if answerOnAThreadOfItsOwn(request.envelope, to: request.client) { return nil }
                reply = FSReplyEnvelope(requestID: reply.requestID, result: .failure(FSError(.serverUnavailable, "\(label): \(error.message), and no thread could be started")))
            }
            return Answer(envelope: request.envelope, client: request.client, reply: reply, followUps: answer.followUps, inPassage: true)
        }, passage: passage)
    }

    /// Does a request's work after its reply: on a thread of its own when it waits on peers, which the serving thread never does.
    private func carryOut(_ followUp: FollowUp) {
        guard case .removeDatafiles = followUp, let thread = startThread(named: "fan-out", { [handler] in handler.carryOut(followUp) }) else {
            handler.carryOut(followUp)
            return
        }
        pthread_detach(thread)
    }

    /// Starts a thread that answers the request (false when none could be started).
    private func answerOnAThreadOfItsOwn(_ envelope: FSRequestEnvelope, to client: Communicator) -> Bool {
        handler.metrics.requestsOnThreads.increment()
        guard let thread = startThread(named: "fan-out", { [self] in
            answerOnThisThread(envelope, to: client)
            handler.metrics.requestsOnThreads.decrement()
        }) else {
            handler.metrics.requestsOnThreads.decrement()
            return false
        }
        pthread_detach(thread)
        return true
    }

    /// Sends `answers` now, or holds them until `passage` (their commit on
    /// its way to the secondaries) and every change before it are done.
    private func deliver(_ answers: [Answer], passage: Passage?) {
        if let passage, !passage.isComplete || !held.isEmpty {
            held.append(HeldReplies(passage: passage, answers: answers))
        } else if passage == nil, !held.isEmpty {
            held[held.count - 1].answers += answers
        } else {
            send(answers, failure: passage?.outcome())
        }
    }

    /// Sends the held replies whose changes are done, oldest first.
    private func releaseHeldReplies() {
        while let next = held.first, next.passage.isComplete {
            held.removeFirst()
            send(next.answers, failure: next.passage.outcome())
        }
    }

    /// Sends each answer; `failure` (a commit or a write that did not reach
    /// every copy) replaces the success of every change: a commit is recorded
    /// as done, and its resend is answered from the record once every copy
    /// has it; a write is done again.
    private func send(_ answers: [Answer], failure: FSError?) {
        for answer in answers {
            var reply = answer.reply
            let kind = type(of: answer.envelope.operation)
            if let failure, answer.inPassage, case .success = reply.result, kind.commits || kind is any SentByPrimary.Type {
                reply = FSReplyEnvelope(requestID: answer.envelope.requestID, result: .failure(failure), steps: reply.steps)
            }
            send(reply, for: answer.envelope, to: answer.client, waitForSend: false)
            for followUp in answer.followUps { carryOut(followUp) }
        }
    }

    /// The request a ready session sent, with the session's next receive
    /// posted; nil when the client left (its session is dropped) or sent
    /// something that is not a request.
    private func takeRequest(sessionAt position: Int) -> (FSRequestEnvelope, Communicator)? {
        let session = sessions[position]
        let message: Message
        do {
            message = try session.pending.wait()
            if message.tag == MessageTags.sessionEnd, message.payload == ByteBuffer(string: MessageTags.sessionEndWords) {
                throw FSError(.invalidArgument, "the client ended its session")
            }
            sessions[position].pending = try Self.nextMessage(from: session.client)
        } catch {
            logger.info("\(label): client gone: \(error)")
            _ = session.client.idisconnect()
            sessions.remove(at: position)
            handler.metrics.sessions.record(sessions.count)
            return nil
        }
        guard message.tag == MessageTags.request else {
            logger.warning("\(label): dropped a message on tag \(message.tag), which carries no requests")
            return nil
        }
        do {
            var envelope = try FSRequestEnvelope.decode(message.payload)
            envelope.origin = session.origin
            guard envelope.operation is ProveIdentity else { return (envelope, session.client) }
            // Answered at once: the session's later requests are taken as made by whom it proves.
            let (reply, _) = handler.handle(envelope)
            if case .success = reply.result, let proven = try? reply.reply(to: ProveIdentity.self) {
                sessions[position].origin.proven = proven
            }
            send(reply, for: envelope, to: session.client, waitForSend: false)
            return nil
        } catch {
            // Without a request id there is no reply tag to answer on: the client's wait times out.
            logger.warning("\(label): dropped a malformed request: \(error)")
            return nil
        }
    }

    /// Answers on a thread of its own (never the loop's: `replies` is the loop's), waiting for the send.
    private func answerOnThisThread(_ envelope: FSRequestEnvelope, to client: Communicator) {
        let made = answering(envelope, client)
        send(made.reply, for: envelope, to: client, waitForSend: true)
        for followUp in made.followUps { handler.carryOut(followUp) }
    }

    private func answering(_ envelope: FSRequestEnvelope, _ client: Communicator, callerTakesPassage: Bool = false) -> Answer {
        let (reply, followUps) = handler.handle(envelope, callerTakesPassage: callerTakesPassage)
        return Answer(envelope: envelope, client: client, reply: reply, followUps: followUps)
    }

    private func send(_ reply: FSReplyEnvelope, for envelope: FSRequestEnvelope, to client: Communicator, waitForSend: Bool) {
        do {
            let send = try client.isend(reply.encoded(), to: 0, tag: MessageTags.reply(to: envelope.requestID))
            if waitForSend { try send.wait(deadline: .after(seconds: handler.context.peerTimeoutSeconds)) } else { replies.append(send) }
        } catch {
            logger.info("\(label) could not answer request \(envelope.requestID): \(error)")
        }
    }
}
