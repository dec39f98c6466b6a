import TrellisCore

/// What the survivors of a communicator agreed on.
public struct AgreementResult: Sendable, Equatable {
    /// The bitwise AND of the flags the survivors passed.
    public var flag: UInt64
    /// Ranks (in the communicator) of the members that failed, ascending.
    public var failedRanks: [Int]
}

/// Surviving failures, in the sense of MPI's ULFM proposal: a communicator
/// that lost a member fails its collectives everywhere; `revoke` makes every
/// operation on it fail everywhere; `agree` and `shrink` work on it anyway,
/// so the survivors learn who failed and go on with a communicator of their own.
///
/// ```swift
/// do { try world.barrier() } catch {
///     world.revoke()
///     let survivors = try world.shrink(deadline: .after(seconds: 30))
/// }
/// ```
extension Communicator {
    /// Ranks this process knows to have failed (not necessarily all of them; `agree` tells all).
    public var knownFailedRanks: [Int] {
        engine.lock.withLock {
            record.failedMembers.keys.compactMap { group.rank(of: $0) ?? remoteGroup?.rank(of: $0) }.sorted()
        }
    }

    /// Makes every pending and future operation on this communicator fail
    /// with `revoked` at every member (except `agree` and `shrink`).
    public func revoke() {
        engine.lock.withLock { engine.revoke(context, by: engine.processID) }
    }

    /// Fault-tolerant agreement among the survivors: every survivor gets the
    /// same AND of flags and the same set of failed members, even when
    /// members (the coordinator included) die during the agreement.
    public func iagree(flag: UInt64 = ~0) throws -> Request<AgreementResult> {
        try requireIntracommunicator("agree")
        let core = RequestCore(engine: engine, label: .collective("agree", context))
        try engine.lock.withLock {
            if isFreed { throw TrellisError(.communicatorFreed, "\(self) has been freed") }
            agreementSequence += 1
            engine.startAgreement(context: context, group: group, epoch: agreementSequence, flag: flag, request: core)
        }
        let members = group
        return Request(core: core) { output in
            guard case .agreement(let decision) = output else { preconditionFailure("agree produced \(output)") }
            return AgreementResult(flag: decision.flag, failedRanks: decision.failed.compactMap { members.rank(of: $0) }.sorted())
        }
    }

    /// Blocking `iagree`, as MPIX_Comm_agree; throws `timedOut` if `deadline` passes first.
    public func agree(flag: UInt64 = ~0, deadline: Deadline? = nil) throws -> AgreementResult {
        try iagree(flag: flag).wait(deadline: deadline)
    }

    /// A communicator of the survivors, in their old order, with a fresh
    /// context; works on a revoked communicator too.
    public func shrink(deadline: Deadline? = nil) throws -> Communicator {
        try requireIntracommunicator("shrink")
        let core = RequestCore(engine: engine, label: .collective("shrink", context))
        try engine.lock.withLock {
            if isFreed { throw TrellisError(.communicatorFreed, "\(self) has been freed") }
            agreementSequence += 1
            engine.startAgreement(context: context, group: group, epoch: agreementSequence, flag: ~0, request: core)
        }
        try engine.wait(for: core, deadline: deadline)
        guard case .success(.agreement(let decision)) = engine.outcome(of: core) else {
            if case .failure(let error) = engine.outcome(of: core) { throw error }
            throw TrellisError(.protocolViolation, "shrink produced no agreement")
        }
        let failed = Set(decision.failed)
        let survivors = Group(members: group.members.filter { !failed.contains($0) })
        guard let newRank = survivors.rank(of: engine.processID) else {
            throw TrellisError(.peerFailed, "the other members of \(self) consider this process failed")
        }
        return Communicator(engine: engine, context: decision.context, group: survivors, rank: newRank)
    }
}
