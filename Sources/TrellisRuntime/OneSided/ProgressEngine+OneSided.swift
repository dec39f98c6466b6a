import NIOCore
import TrellisCore
import TrellisWire

/// What one process's windows need from the engine: its targets' memory and
/// locks, and the operations it started as an origin. Engine lock.
struct OneSidedState {
    var windows: [ContextID: TargetWindow] = [:]
    var pending: [UInt64: PendingOneSided] = [:]
    var nextOperation: UInt64 = 1
}

/// An operation this process started and the target has not answered yet.
struct PendingOneSided {
    var operation: OneSidedOperation
    var request: RequestCore
    var target: ProcessID
    var targetRank: Int
    var access: WindowAccess
}

/// An origin's view of one window: its access epochs, operations still on
/// their way per target rank, and the first failure since the last flush.
/// Engine lock.
final class WindowAccess {
    var locks: [Int: Window.LockMode] = [:]
    var requestedLocks = Set<Int>()
    var fenceOpen = false
    var outstanding: [Int: Int] = [:]
    var failures: [Int: TrellisError] = [:]
    var isFreed = false

    func isOutstanding(to rank: Int?) -> Bool {
        guard let rank else { return outstanding.values.contains { $0 > 0 } }
        return outstanding[rank, default: 0] > 0
    }

    /// The first failure to `rank` (or to anyone) since the last call, forgotten once read.
    func takeFailure(for rank: Int?) -> TrellisError? {
        if let rank { return failures.removeValue(forKey: rank) }
        let first = failures.values.first
        failures.removeAll()
        return first
    }
}

extension ProgressEngine {
    /// Sends a one-sided operation to `target`, or serves it here when the
    /// target is this process. Lock held.
    func startOneSided(
        _ operation: OneSidedOperation, context: ContextID, target: ProcessID, targetRank: Int, aux: UInt64 = 0,
        payload: ByteBuffer? = nil, access: WindowAccess, request: RequestCore
    ) {
        if let error = failure(of: target, in: context) {
            access.failures[targetRank] = access.failures[targetRank] ?? error
            request.fail(error)
            return
        }
        let id = oneSided.nextOperation
        oneSided.nextOperation += 1
        oneSided.pending[id] = PendingOneSided(operation: operation, request: request, target: target, targetRank: targetRank, access: access)
        access.outstanding[targetRank, default: 0] += 1
        request.cancelHandler = { [unowned self] in
            // Withdraws the wait only: an operation already sent may still take effect.
            guard let pending = self.oneSided.pending.removeValue(forKey: id) else { return false }
            pending.access.outstanding[targetRank, default: 1] -= 1
            return true
        }
        let header = FrameHeader(
            kind: .oneSided, tag: operation.rawValue, context: context,
            payloadLength: UInt64(payload?.readableBytes ?? 0), exchange: id, aux: aux)
        deliverOneSided(header, payload: payload, to: target)
    }

    /// Puts a one-sided frame on the wire, or hands it straight to this
    /// process's own handler. Lock held.
    func deliverOneSided(_ header: FrameHeader, payload: ByteBuffer?, to peer: ProcessID) {
        if peer == processID {
            receiveOneSided(header, payload: payload ?? ByteBuffer(), from: processID)
            return
        }
        do {
            try transport.send(OutgoingFrame(header: header, payload: payload), to: peer)
        } catch {
            let failure = error as? TrellisError ?? TrellisError(.connectionFailed, "\(error)")
            if let operation = OneSidedOperation(rawValue: header.tag), operation.isAnswer { return }
            finishOneSided(header.exchange, with: .failure(failure))
        }
    }

    func receiveOneSided(_ header: FrameHeader, payload: ByteBuffer, from peer: ProcessID) {
        guard let operation = OneSidedOperation(rawValue: header.tag) else {
            logger.warning("process \(peer) sent an unknown one-sided operation \(header.tag); ignored")
            return
        }
        switch operation {
        case .lockGranted, .done:
            finishOneSided(header.exchange, with: .success(payload), grantedBy: operation == .lockGranted ? (peer, header.context) : nil)
        case .refused:
            let reason = String(buffer: payload)
            finishOneSided(header.exchange, with: .failure(TrellisError(.accessRefused, reason.isEmpty ? "process \(peer) refused a one-sided access" : reason)))
        case .lockRequest, .unlock, .put, .get, .accumulate:
            serveOneSided(operation, header: header, payload: payload, from: peer)
        }
    }

    /// The target's side: applies the access to the window's memory and
    /// answers. Nothing a peer sends can crash this process; a bad request is
    /// refused with the reason. Lock held.
    private func serveOneSided(_ operation: OneSidedOperation, header: FrameHeader, payload: ByteBuffer, from origin: ProcessID) {
        func answer(_ kind: OneSidedOperation, _ data: ByteBuffer? = nil, exchange: UInt64 = header.exchange, to peer: ProcessID = origin) {
            let reply = FrameHeader(kind: .oneSided, tag: kind.rawValue, context: header.context, payloadLength: UInt64(data?.readableBytes ?? 0), exchange: exchange)
            deliverOneSided(reply, payload: data, to: peer)
        }
        guard let window = oneSided.windows[header.context] else {
            answer(.refused, ByteBuffer(string: "process \(processID) has no window \(header.context) (freed, or not created there)"))
            return
        }
        do {
            switch operation {
            case .lockRequest:
                let mode: TargetWindow.LockMode = header.aux == 1 ? .exclusive : .shared
                if window.requestLock(.init(origin: origin, exchange: header.exchange, mode: mode)) { answer(.lockGranted) }
            case .unlock:
                let granted = window.release(origin)
                answer(.done)
                for waiter in granted { answer(.lockGranted, exchange: waiter.exchange, to: waiter.origin) }
            case .put:
                try window.put(OneSidedAccess.decode(payload, for: .put), segment: header.aux)
                answer(.done)
            case .get:
                let access = try OneSidedAccess.decode(payload, for: .get)
                guard access.regionBytes <= limits.maximumMessageBytes else {
                    throw TrellisError(.messageTooLarge, "a get of \(access.regionBytes) bytes is above the \(limits.maximumMessageBytes)-byte message limit")
                }
                answer(.done, try window.get(access, segment: header.aux))
            case .accumulate:
                answer(.done, try window.accumulate(OneSidedAccess.decode(payload, for: .accumulate), segment: header.aux))
            case .lockGranted, .done, .refused:
                break
            }
        } catch {
            logger.debug("refused a one-sided \(operation) from process \(origin): \(error)")
            answer(.refused, ByteBuffer(string: (error as? TrellisError)?.message ?? "\(error)"))
        }
    }

    /// The origin's side: an answer arrived (or the target is gone). Lock held.
    func finishOneSided(_ id: UInt64, with result: Result<ByteBuffer, TrellisError>, grantedBy granter: (ProcessID, ContextID)? = nil) {
        guard let pending = oneSided.pending.removeValue(forKey: id) else {
            // A lock granted after its request was cancelled is given straight back.
            if let (peer, context) = granter {
                deliverOneSided(FrameHeader(kind: .oneSided, tag: OneSidedOperation.unlock.rawValue, context: context), payload: nil, to: peer)
            }
            return
        }
        pending.access.outstanding[pending.targetRank, default: 1] -= 1
        switch result {
        case .success(let data):
            // The target answers in order, so an unlock's answer comes after every earlier operation's.
            if pending.operation == .unlock, let failure = pending.access.takeFailure(for: pending.targetRank) {
                pending.request.fail(failure)
            } else {
                pending.request.succeed(.buffer(data))
            }
        case .failure(let error):
            if pending.access.failures[pending.targetRank] == nil { pending.access.failures[pending.targetRank] = error }
            pending.request.fail(error)
        }
    }

    /// A process died: operations this process started towards it fail, and
    /// every window here gives back its locks and forgets its queued requests,
    /// so other origins are not stuck behind it. Lock held.
    func oneSidedPeerFailed(_ peer: ProcessID, error: TrellisError) {
        for (id, pending) in oneSided.pending where pending.target == peer {
            finishOneSided(id, with: .failure(error))
        }
        for (context, window) in oneSided.windows {
            for waiter in window.release(peer, forgetWaiting: true) {
                let grant = FrameHeader(kind: .oneSided, tag: OneSidedOperation.lockGranted.rawValue, context: context, exchange: waiter.exchange)
                deliverOneSided(grant, payload: nil, to: waiter.origin)
            }
        }
    }

    /// Forgets a freed window: its memory goes, later accesses are refused,
    /// and this process's operations on it fail. Lock held.
    func freeWindow(_ context: ContextID, access: WindowAccess) {
        access.isFreed = true
        if let window = oneSided.windows.removeValue(forKey: context) {
            for waiter in window.waiting {
                let refusal = FrameHeader(kind: .oneSided, tag: OneSidedOperation.refused.rawValue, context: context, exchange: waiter.exchange)
                deliverOneSided(refusal, payload: ByteBuffer(string: "the window at process \(processID) was freed"), to: waiter.origin)
            }
        }
        for (id, pending) in oneSided.pending where pending.access === access {
            finishOneSided(id, with: .failure(TrellisError(.communicatorFreed, "the window was freed while the operation was pending")))
        }
    }
}

extension OneSidedOperation {
    /// Answers are never answered, so a failure to send one is only logged.
    var isAnswer: Bool { self == .lockGranted || self == .done || self == .refused }
}
