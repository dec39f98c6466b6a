import DequeModule
import NIOCore
import TrellisCore
import TrellisWire

/// The connect / accept handshake between two roots (MPI_Comm_connect /
/// MPI_Comm_accept), run by the progress engines so that an accept needs no
/// thread parked in it:
///
/// 1. the client's root sends `connectRequest` (its group) to the port's process;
/// 2. the server queues it until an accept is posted on that port, then sends
///    `connectOffer` (its group and a fresh intercommunicator context);
/// 3. the client answers `connectAnswer`: taken, or given up (cancelled or
///    timed out), in which case the accept serves the next client.
///
/// A client that dies at any step only loses its own place in the queue.
struct DynamicProcessState {
    var nextPortID: UInt64 = 1
    var nextAttemptID: UInt64 = 1
    var ports: [UInt64: OpenPort] = [:]
    var attempts: [UInt64: ConnectAttempt] = [:]
    var offers: [UInt64: PendingOffer] = [:]
}

/// An accept waiting for a client: what its root will tell the client.
struct AcceptWaiter {
    let request: RequestCore
    let localMembers: [IntercommunicatorPlan.Member]
    let localContext: ContextID
}

/// A client's request, queued at the port until an accept takes it.
struct QueuedConnect {
    let client: ProcessID
    let attempt: UInt64
    let plan: IntercommunicatorPlan
}

final class OpenPort {
    var waitingAccepts = Deque<AcceptWaiter>()
    var queuedRequests = Deque<QueuedConnect>()
}

struct ConnectAttempt {
    let request: RequestCore
    let server: ProcessID
    let localContext: ContextID
}

struct PendingOffer {
    let waiter: AcceptWaiter
    let portID: UInt64
    let client: QueuedConnect
    let context: ContextID
}

extension ProgressEngine {
    // MARK: Ports

    /// Opens a port of this process. Lock held.
    func openPort() -> UInt64 {
        let id = dynamic.nextPortID
        dynamic.nextPortID += 1
        dynamic.ports[id] = OpenPort()
        return id
    }

    /// Closes a port: its waiting accepts fail and its queued clients are refused. Lock held.
    func closePort(_ id: UInt64) {
        guard let port = dynamic.ports.removeValue(forKey: id) else { return }
        for waiter in port.waitingAccepts {
            waiter.request.fail(TrellisError(.portClosed, "port \(id) was closed while an accept waited on it"))
        }
        for queued in port.queuedRequests {
            refuse(queued.client, attempt: queued.attempt, reason: "the port was closed before the connection was accepted")
        }
    }

    // MARK: Server side

    /// Posts the root's part of an accept. Lock held.
    func startAccept(portID: UInt64, waiter: AcceptWaiter) {
        guard let port = dynamic.ports[portID] else {
            waiter.request.fail(TrellisError(.portClosed, "port \(portID) is not open"))
            return
        }
        let request = waiter.request
        request.cancelHandler = { [weak port] in
            guard let port, let index = port.waitingAccepts.firstIndex(where: { $0.request === request }) else { return false }
            port.waitingAccepts.remove(at: index)
            return true
        }
        port.waitingAccepts.append(waiter)
        serve(portID)
    }

    /// Pairs waiting accepts with queued clients, offering each an intercommunicator.
    private func serve(_ portID: UInt64) {
        guard let port = dynamic.ports[portID] else { return }
        while !port.waitingAccepts.isEmpty, let client = port.queuedRequests.popFirst() {
            let waiter = port.waitingAccepts.removeFirst()
            let context = ContextID(owner: processID.rawValue, serial: takeContextSerials(count: 1))
            let offerID = dynamic.nextAttemptID
            dynamic.nextAttemptID += 1
            let offer = IntercommunicatorPlan(remote: waiter.localMembers, context: context, localContext: ContextID(owner: 0, serial: 0))
            do {
                try sendControl(.connectOffer, to: client.client, exchange: client.attempt, aux: offerID, payload: offer.encoded())
                dynamic.offers[offerID] = PendingOffer(waiter: waiter, portID: portID, client: client, context: context)
            } catch {
                logger.info("client \(client.client) went away before its offer: \(error)")
                port.waitingAccepts.prepend(waiter)
            }
        }
    }

    private func receiveConnectRequest(_ header: FrameHeader, payload: ByteBuffer, from peer: ProcessID) {
        guard let port = dynamic.ports[header.aux] else {
            refuse(peer, attempt: header.exchange, reason: "port \(header.aux) of process \(processID) is not open")
            return
        }
        do {
            let plan = try IntercommunicatorPlan.decode(payload)
            // It reached this process again after a cut link: its new communicator is not born failed.
            forgetFailureIfPassing(of: peer)
            port.queuedRequests.append(QueuedConnect(client: peer, attempt: header.exchange, plan: plan))
            serve(header.aux)
        } catch {
            logger.warning("malformed connect request from process \(peer): \(error)")
            refuse(peer, attempt: header.exchange, reason: "malformed connect request")
        }
    }

    private func receiveConnectAnswer(_ header: FrameHeader, from peer: ProcessID) {
        guard let offer = dynamic.offers[header.exchange], offer.client.client == peer else { return }
        dynamic.offers[header.exchange] = nil
        if header.aux == 1 {
            let plan = IntercommunicatorPlan(remote: offer.client.plan.remote, context: offer.context, localContext: offer.waiter.localContext)
            offer.waiter.request.succeed(.buffer(plan.encoded()))
        } else {
            requeue(offer.waiter, portID: offer.portID)
        }
    }

    /// An accept whose client gave up or died goes back to the front of its port.
    private func requeue(_ waiter: AcceptWaiter, portID: UInt64) {
        guard let port = dynamic.ports[portID] else {
            waiter.request.fail(TrellisError(.portClosed, "port \(portID) was closed while an accept waited on it"))
            return
        }
        port.waitingAccepts.prepend(waiter)
        serve(portID)
    }

    private func refuse(_ client: ProcessID, attempt: UInt64, reason: String) {
        try? sendControl(.connectRefused, to: client, exchange: attempt, payload: ByteBuffer(string: reason))
    }

    // MARK: Client side

    /// Posts the root's part of a connect. Lock held.
    func startConnect(to port: PortName, localMembers: [IntercommunicatorPlan.Member], localContext: ContextID, request: RequestCore) {
        // A process seen to fail stays failed (fail-stop), and a restarted one publishes a port of a new
        // process: a port of a failed process, as a name service still gives it until its lease ends, fails at
        // once. One lost to the network is tried again: a cut link may have been mended.
        if let failure = failedPeers[port.process], !isOrderlyDeparture(failure), !isUnreachable(failure) {
            // A refused handshake is no failure of the peer, and trying again will not mend it: it says so, every time.
            request.fail(
                failure.code == .authenticationFailed
                    ? failure : TrellisError(.peerFailed, "the process of port \(port) has failed", underlying: failure))
            return
        }
        let attempt = dynamic.nextAttemptID
        dynamic.nextAttemptID += 1
        introduce(port.process, at: port.address)
        let plan = IntercommunicatorPlan(remote: localMembers, context: ContextID(owner: 0, serial: 0), localContext: localContext)
        dynamic.attempts[attempt] = ConnectAttempt(request: request, server: port.process, localContext: localContext)
        request.cancelHandler = { [unowned self] in self.dynamic.attempts.removeValue(forKey: attempt) != nil }
        do {
            try sendControl(.connectRequest, to: port.process, exchange: attempt, aux: port.id, payload: plan.encoded())
        } catch {
            dynamic.attempts[attempt] = nil
            request.fail(TrellisError(.connectionFailed, "cannot reach the process of port \(port)", underlying: error as? TrellisError))
        }
    }

    private func receiveConnectOffer(_ header: FrameHeader, payload: ByteBuffer, from peer: ProcessID) {
        guard let attempt = dynamic.attempts[header.exchange], attempt.server == peer else {
            // Given up already: let the accept serve someone else.
            try? sendControl(.connectAnswer, to: peer, exchange: header.aux, aux: 0)
            return
        }
        dynamic.attempts[header.exchange] = nil
        do {
            let offer = try IntercommunicatorPlan.decode(payload)
            try sendControl(.connectAnswer, to: peer, exchange: header.aux, aux: 1)
            let plan = IntercommunicatorPlan(remote: offer.remote, context: offer.context, localContext: attempt.localContext)
            attempt.request.succeed(.buffer(plan.encoded()))
        } catch {
            attempt.request.fail(error as? TrellisError ?? TrellisError(.protocolViolation, "\(error)"))
        }
    }

    private func receiveConnectRefused(_ header: FrameHeader, payload: ByteBuffer, from peer: ProcessID) {
        guard let attempt = dynamic.attempts.removeValue(forKey: header.exchange), attempt.server == peer else { return }
        let reason = payload.getString(at: payload.readerIndex, length: payload.readableBytes) ?? "refused"
        attempt.request.fail(TrellisError(.portClosed, "process \(peer) refused the connection: \(reason)"))
    }

    /// Learns where a process listens, for a new communicator with it. An
    /// orderly departure recorded earlier (it disconnected from this one) or
    /// a loss to the network no longer stands; a death does (fail-stop: a
    /// process seen dead stays dead). Lock held.
    func introduce(_ peer: ProcessID, at address: String) {
        transport.setAddress(address, for: peer)
        forgetFailureIfPassing(of: peer)
    }

    // MARK: Control frames and failures

    func sendControl(_ operation: ControlOperation, to peer: ProcessID, context: ContextID = ContextID(owner: 0, serial: 0), exchange: UInt64 = 0, aux: UInt64 = 0, payload: ByteBuffer? = nil) throws {
        let header = FrameHeader(
            kind: .control, tag: operation.rawValue, context: context,
            payloadLength: UInt64(payload?.readableBytes ?? 0), exchange: exchange, aux: aux)
        try transport.send(OutgoingFrame(header: header, payload: payload), to: peer)
    }

    func receiveControl(_ header: FrameHeader, payload: ByteBuffer, from peer: ProcessID) {
        guard let operation = ControlOperation(rawValue: header.tag) else {
            logger.warning("process \(peer) sent an unknown control operation \(header.tag); ignored")
            return
        }
        switch operation {
        case .connectRequest: receiveConnectRequest(header, payload: payload, from: peer)
        case .connectOffer: receiveConnectOffer(header, payload: payload, from: peer)
        case .connectAnswer: receiveConnectAnswer(header, from: peer)
        case .connectRefused: receiveConnectRefused(header, payload: payload, from: peer)
        case .failureNotice: receiveFailureNotice(header, from: peer)
        case .revoke: receiveRevoke(header, from: peer)
        case .agreementProposal: receiveAgreementMessage(header, payload: payload, from: peer, isDecision: false)
        case .agreementDecision: receiveAgreementMessage(header, payload: payload, from: peer, isDecision: true)
        }
    }

    /// Forgets a lost process's part in any handshake. Lock held.
    func dropHandshakes(with peer: ProcessID, error: TrellisError) {
        for (id, attempt) in dynamic.attempts where attempt.server == peer {
            dynamic.attempts[id] = nil
            attempt.request.fail(error)
        }
        for (id, offer) in dynamic.offers where offer.client.client == peer {
            dynamic.offers[id] = nil
            requeue(offer.waiter, portID: offer.portID)
        }
        for port in dynamic.ports.values {
            port.queuedRequests.removeAll { $0.client == peer }
        }
    }
}
