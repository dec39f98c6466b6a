import TrellisFSProtocol

extension VoteForMembers: ServedOperation {
    /// A vote waits on probes of the members it would drop.
    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool { true }

    /// Granted only when this server knows the group, can reach none of the
    /// members to drop (itself included), and has promised no epoch as high;
    /// the promise is on disk before the answer leaves.
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> GroupView {
        guard let replication = handler.context.replication else {
            throw FSError(.notSupported, "this file system keeps one copy of each object: it has no replica groups")
        }
        let group = Int(group)
        guard let known = replication.epochs.entry(group) else {
            throw FSError(.invalidArgument, "there is no replica group \(group) in this file system")
        }
        let proposed = members.map(Int.init), left = dropped.map(Int.init)
        // A vote changes members by dropping some, and asks for an epoch near the ones this server knows:
        // anything else (an empty change, or an epoch far ahead that would block every real vote) is refused.
        guard !proposed.isEmpty, !left.isEmpty, Set(proposed).isDisjoint(with: left), Set(proposed + left).isSubset(of: Set(known.members)),
              epoch <= max(known.epoch, known.promised) + GroupEpochs.largestStep
        else {
            return replication.epochs.view(group)
        }
        for member in left {
            // A member this server can still reach is not gone: no vote to drop it.
            if member == replication.server || replication.probe(group: group, member: member) != nil { return replication.epochs.view(group) }
        }
        call.steps += 1
        return replication.epochs.view(group, granted: try replication.epochs.promise(group, epoch: epoch))
    }
}
