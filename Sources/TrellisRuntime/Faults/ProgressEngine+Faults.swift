import Glibc
import DequeModule
import NIOCore
import TrellisCore
import TrellisWire

/// What the engine knows about one live communicator: who is in it, who of
/// them has failed, and whether it was revoked. Engine lock.
final class CommunicatorRecord {
    let group: Group
    let remoteGroup: Group?
    var failedMembers: [ProcessID: TrellisError] = [:]
    var revoked: TrellisError?

    init(group: Group, remoteGroup: Group?) {
        self.group = group
        self.remoteGroup = remoteGroup
    }

    func contains(_ process: ProcessID) -> Bool {
        group.members.contains(process) || (remoteGroup?.members.contains(process) ?? false)
    }

    var allMembers: [ProcessID] { group.members + (remoteGroup?.members ?? []) }
}

/// Contexts freed recently: messages that still arrive for them are dropped.
/// Context ids are never reused, so a late message could never match a later
/// communicator anyway; remembering them only keeps such messages from
/// piling up. A context is forgotten once the connections to all the
/// processes that could send on it have closed (after a disconnect), or
/// after an hour, far longer than any message stays in flight.
struct FreedContexts {
    private var members = Set<ContextID>()
    private var order = Deque<(context: ContextID, at: UInt64)>()
    /// Freed contexts waiting for the connections to these peers to close.
    private var waitingOn: [ProcessID: [ContextID]] = [:]
    private var peersLeft: [ContextID: Int] = [:]
    static let memoryNanoseconds: UInt64 = 3600 * 1_000_000_000

    func contains(_ context: ContextID) -> Bool { members.contains(context) }

    mutating func insert(_ context: ContextID, now: UInt64 = MonotonicClock.nanoseconds()) {
        guard members.insert(context).inserted else { return }
        order.append((context, now))
        while let oldest = order.first, now &- oldest.at > Self.memoryNanoseconds || !members.contains(oldest.context) {
            members.remove(oldest.context)
            order.removeFirst()
        }
        // Contexts forgotten behind one that is still remembered leave their
        // entries here; drop them before they add up.
        if order.count > 2 * members.count + 1024 {
            order = Deque(order.filter { members.contains($0.context) })
        }
    }

    /// Forget `context` once the connections to all of `peers` have closed.
    mutating func forget(_ context: ContextID, whenClosed peers: Set<ProcessID>) {
        guard members.contains(context) else { return }
        guard !peers.isEmpty else {
            members.remove(context)
            return
        }
        peersLeft[context] = peers.count
        for peer in peers { waitingOn[peer, default: []].append(context) }
    }

    mutating func connectionClosed(to peer: ProcessID) {
        guard let contexts = waitingOn.removeValue(forKey: peer) else { return }
        for context in contexts {
            guard let left = peersLeft[context] else { continue }
            if left <= 1 {
                peersLeft[context] = nil
                members.remove(context)
            } else {
                peersLeft[context] = left - 1
            }
        }
    }
}

extension ProgressEngine {
    func register(_ record: CommunicatorRecord, for context: ContextID) {
        // A member already known dead fails the new communicator's collectives at once.
        for member in record.allMembers {
            if let error = failedPeers[member], !isOrderlyDeparture(error) { record.failedMembers[member] = error }
        }
        communicators[context] = record
    }

    func isOrderlyDeparture(_ error: TrellisError) -> Bool { error.code == .peerFinalized }

    /// A peer lost to the network (a cut link, a host that stopped
    /// answering) may still run: a later connect may reach it again. A peer
    /// whose kernel reset or refused the connection, or that closed it
    /// without a goodbye, died.
    func isUnreachable(_ error: TrellisError) -> Bool {
        guard let call = error.underlying as? SystemCallError else { return false }
        return SystemCallError.isNetworkLoss(call.errno)
    }

    /// Whether a failure of a peer still stands once the peer is introduced
    /// again (a new connect to it, or from it): a death does (fail-stop), a
    /// departure in good order or a loss to the network does not. Lock held.
    func forgetFailureIfPassing(of peer: ProcessID) {
        guard let error = failedPeers[peer] else { return }
        if isUnreachable(error) {
            failedPeers[peer] = nil
            reachedAgain.insert(peer)
        } else if isOrderlyDeparture(error) {
            failedPeers[peer] = nil
        }
    }

    /// Why a point-to-point operation with `peer` on communicator `context`
    /// fails at once, or nil. A peer lost to the network stays lost in the
    /// communicators it was in then, even once a new connection reaches it:
    /// it dropped its side of them when it lost this process, so a request
    /// sent on one would never be answered. New ones (a new connect) work.
    /// Lock held.
    func failure(of peer: ProcessID, in context: ContextID) -> TrellisError? {
        if let error = failedPeers[peer] { return error }
        guard !reachedAgain.isEmpty, reachedAgain.contains(peer) else { return nil }
        return communicators[context]?.failedMembers[peer]
    }

    /// A member of some communicators died: their pending collectives and
    /// any-source receives fail, and later collectives on them fail at once.
    /// The process that saw the death tells everyone who shares a
    /// communicator with the dead one, so that nobody waits on it. Lock held.
    func propagateFailure(of peer: ProcessID, error: TrellisError, notifyOthers: Bool) {
        var toNotify = Set<ProcessID>()
        for (context, record) in communicators where record.failedMembers[peer] == nil && record.contains(peer) {
            record.failedMembers[peer] = error
            let pendingCollectives = matching.removePosted { space, _ in space.context == context && space.collective }
            let anySource = matching.removePosted { space, entry in space.context == context && !space.collective && entry.source < 0 }
            for entry in pendingCollectives + anySource { entry.value.request.fail(error) }
            if notifyOthers { toNotify.formUnion(record.allMembers) }
        }
        toNotify.remove(processID)
        toNotify.remove(peer)
        // Exchange 1 tells that the peer was lost to the network, so that the others too may reach it again.
        let lostToNetwork: UInt64 = isUnreachable(error) ? 1 : 0
        for process in toNotify where failedPeers[process] == nil {
            try? sendControl(.failureNotice, to: process, exchange: lostToNetwork, aux: peer.rawValue)
        }
    }

    func receiveFailureNotice(_ header: FrameHeader, from reporter: ProcessID) {
        let dead = ProcessID(rawValue: header.aux)
        guard dead != processID, failedPeers[dead] == nil else { return }
        let error = header.exchange == 1
            ? TrellisError(
                .peerFailed, "process \(dead) could not be reached (reported by process \(reporter))", underlying: SystemCallError("connect", errno: ETIMEDOUT))
            : TrellisError(.peerFailed, "process \(dead) failed (reported by process \(reporter))")
        failPeer(dead, error: error, unsent: [], notifyOthers: false)
    }

    /// Everything that involves a dead process fails; the rest goes on. Lock held.
    func failPeer(_ peer: ProcessID, error: TrellisError, unsent: [OutgoingFrame], notifyOthers: Bool) {
        failedPeers[peer] = error
        freedContexts.connectionClosed(to: peer)
        for frame in unsent { frame.request?.fail(error) }
        for (id, exchange) in outboundExchanges where exchange.peer == peer {
            outboundExchanges[id] = nil
            exchange.request.fail(error)
        }
        for (id, exchange) in inboundExchanges where exchange.peer == peer {
            inboundExchanges[id] = nil
            exchange.request.fail(error)
        }
        let orphaned = matching.removePosted { _, entry in entry.value.sourceProcess == peer }
        for entry in orphaned { entry.value.request.fail(error) }
        dropHandshakes(with: peer, error: error)
        oneSidedPeerFailed(peer, error: error)
        agreementPeerFailed(peer)
        if !isOrderlyDeparture(error) {
            propagateFailure(of: peer, error: error, notifyOthers: notifyOthers)
        }
    }

    // MARK: Revoke

    /// Revokes a communicator here and at every member. Lock held.
    func revoke(_ context: ContextID, by origin: ProcessID) {
        guard let record = communicators[context], record.revoked == nil else { return }
        record.revoked = TrellisError(.revoked, "communicator \(context) was revoked by process \(origin)")
        revokedContexts.insert(context)
        for collective in [false, true] {
            let removed = matching.removeAll(in: MatchSpace(context: context, collective: collective))
            for entry in removed.posted { entry.value.request.fail(record.revoked!) }
            for entry in removed.unexpected {
                if case .eager(let buffer) = entry.value { unexpectedBytes -= buffer.readableBytes }
            }
        }
        // Large sends still waiting for their receiver would wait forever: the receiver dropped them.
        for (id, exchange) in outboundExchanges where exchange.context == context {
            outboundExchanges[id] = nil
            exchange.request.fail(record.revoked!)
        }
        // Large receives already matched wait for data that a revoked sender no longer sends.
        for (id, exchange) in inboundExchanges where exchange.context == context {
            inboundExchanges[id] = nil
            exchange.request.fail(record.revoked!)
        }
        // Every member passes it on once, so it reaches all even if the revoker dies midway.
        for member in Set(record.allMembers) where member != processID && failedPeers[member] == nil {
            try? sendControl(.revoke, to: member, context: context, aux: origin.rawValue)
        }
    }

    func receiveRevoke(_ header: FrameHeader, from peer: ProcessID) {
        revoke(header.context, by: ProcessID(rawValue: header.aux))
    }
}
