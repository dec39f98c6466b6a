import NIOCore
import TrellisCore

/// Merging and disconnecting intercommunicators.
extension Communicator {
    /// The private communicator of this side of an intercommunicator.
    func localSide() throws -> Communicator {
        guard remoteGroup != nil, let localContext else {
            throw TrellisError(.notSupported, "\(self) is not an intercommunicator")
        }
        return engine.lock.withLock {
            if let made = localSideCache { return made }
            let made = Communicator(engine: engine, context: localContext, group: group, rank: rank, lockHeld: true)
            localSideCache = made
            return made
        }
    }

    /// An intracommunicator of both groups (MPI_Intercomm_merge): the side
    /// that passes `high: false` comes first; when both pass the same, the
    /// side whose root has the smaller process id does. Collective over both groups.
    public func merge(high: Bool, deadline: Deadline? = nil) throws -> Communicator {
        let local = try localSide()
        guard let remoteGroup else { throw TrellisError(.notSupported, "\(self) is not an intercommunicator") }
        var decision: ByteBuffer?
        if rank == 0 {
            let proposal = engine.allocateContextSerials(count: 1)
            let mine = ByteBuffer(wireValues: [UInt64(high ? 1 : 0), engine.processID.rawValue, proposal])
            var theirs: [UInt64] = []
            let schedule = CollectiveSchedule()
            schedule.step { step in
                step.sends.append((to: 0, payload: { mine }))
                step.receives.append((from: 0, deliver: { theirs = try $0.wireValues(of: UInt64.self) }))
            }
            try Request<Void>(core: try startCollective("merge", schedule, onIntercommunicator: true)).wait(deadline: deadline)
            guard theirs.count == 3 else { throw TrellisError(.protocolViolation, "malformed merge proposal from the remote root") }
            let theirHigh = theirs[0] == 1
            let weAreFirst = high != theirHigh ? !high : group.members[0] < remoteGroup.members[0]
            let context = weAreFirst ? [engine.processID.rawValue, proposal] : [theirs[1], theirs[2]]
            decision = ByteBuffer(wireValues: [UInt64(weAreFirst ? 1 : 0)] + context)
        }
        let agreed = try local.broadcast(decision, root: 0, deadline: deadline).wireValues(of: UInt64.self)
        guard agreed.count == 3 else { throw TrellisError(.protocolViolation, "malformed merge decision") }
        let weAreFirst = agreed[0] == 1
        let members = weAreFirst ? group.members + remoteGroup.members : remoteGroup.members + group.members
        let merged = Group(members: members)
        return Communicator(
            engine: engine, context: ContextID(owner: agreed[1], serial: agreed[2]), group: merged,
            rank: merged.rank(of: engine.processID)!)
    }

    /// Disconnects (MPI_Comm_disconnect): frees the communicator at once
    /// (its pending receives fail, late messages are dropped) and completes
    /// when what was sent on the network to its members has gone out. Then
    /// the connections to processes that no other communicator shares are
    /// closed, so a server that sees many clients come and go keeps nothing of them.
    public func idisconnect() -> Request<Void> {
        let core = RequestCore(engine: engine, label: .other("disconnect of \(self)"))
        let peers = Set((remoteGroup ?? group).members + group.members).subtracting([engine.processID])
        free()
        let contexts = [context] + (localContext.map { [$0] } ?? [])
        engine.lock.withLock {
            engine.whenTrue(core, { [engine] in !engine.hasTrafficPending(to: peers) }) { [engine] in
                let released = engine.releaseUnusedPeers(peers)
                // Once the released connections have closed, nothing more can arrive for these contexts.
                if released == peers {
                    for context in contexts { engine.freedContexts.forget(context, whenClosed: released) }
                }
            }
        }
        return Request(core: core)
    }

    /// Blocking `idisconnect`, as MPI_Comm_disconnect; throws `timedOut` if `deadline` passes first.
    public func disconnect(deadline: Deadline? = nil) throws {
        try idisconnect().wait(deadline: deadline)
    }
}

extension ProgressEngine {
    /// Whether sends to any of these processes are still on their way. Lock held.
    func hasTrafficPending(to peers: Set<ProcessID>) -> Bool {
        outboundExchanges.values.contains { peers.contains($0.peer) } || transport.hasUnsentFrames(to: peers)
    }

    /// Closes the connections to processes no live communicator includes,
    /// and returns those processes. Lock held.
    @discardableResult
    func releaseUnusedPeers(_ peers: Set<ProcessID>) -> Set<ProcessID> {
        var unused = peers
        for record in communicators.values where !unused.isEmpty {
            for member in record.allMembers { unused.remove(member) }
        }
        for peer in unused {
            transport.release(peer)
            failedPeers[peer] = nil
        }
        return unused
    }

    /// Completes `request` once `condition` holds (checked after every turn
    /// of progress), running `then` first. Lock held.
    func whenTrue(_ request: RequestCore, _ condition: @escaping () -> Bool, then: @escaping () -> Void) {
        if condition() {
            then()
            request.succeed()
            return
        }
        pendingConditions.append((condition, then, request))
    }

    /// Completes the conditions that now hold. Lock held.
    func checkPendingConditions() {
        guard !pendingConditions.isEmpty else { return }
        var waiting: [(() -> Bool, () -> Void, RequestCore)] = []
        for entry in pendingConditions {
            if entry.0() {
                entry.1()
                entry.2.succeed()
            } else {
                waiting.append(entry)
            }
        }
        pendingConditions = waiting
    }
}
