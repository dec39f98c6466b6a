import TrellisFSProtocol

extension VoteForMembers: ServedOperation {
    /// A vote waits on probes of the members it would drop.
    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool { true }

    /// Granted only when this server knows the group, has promised no epoch
    /// as high, and either can reach none of the members to drop (itself
    /// included), or is asked by the one member to drop, stepping down, or
    /// is asked by the primary it knows to add members;
    /// the promise is on disk before the answer leaves.
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> GroupView {
        guard let replication = handler.context.replication else {
            throw FSError(.notSupported, "this file system keeps one copy of each object: it has no replica groups")
        }
        let group = Int(group)
        guard replication.placement.members.indices.contains(group), let known = replication.epochs.entry(group) else {
            throw FSError(.invalidArgument, "there is no replica group \(group) in this file system")
        }
        let proposed = members.map(Int.init), left = dropped.map(Int.init)
        // A vote either drops members or adds some, among the group's placed members, and asks for an epoch near
        // the ones this server knows: anything else (an epoch far ahead would block every real vote) is refused.
        guard !proposed.isEmpty, Set(proposed).count == proposed.count, Set(proposed).isDisjoint(with: left),
              Set(proposed + left).isSubset(of: replication.placement.members[group]),
              epoch <= max(known.epoch, known.promised) + GroupEpochs.largestStep
        else {
            return replication.epochs.view(group)
        }
        if left.isEmpty {
            // Members are added only by the primary this server knows, keeping every member it knows.
            guard proposed.first == known.members.first, Set(known.members).isSubset(of: proposed), proposed.count > known.members.count else {
                return replication.epochs.view(group)
            }
        } else {
            guard Set(proposed + left).isSubset(of: known.members) else { return replication.epochs.view(group) }
            // A primary stepping down after a restart asks for itself: the member to drop is the one asking.
            for member in left where !(stepsDown && left.count == 1) {
                // A member this server can still reach is not gone: no vote to drop it.
                if member == replication.server || replication.probe(group: group, member: member) != nil { return replication.epochs.view(group) }
            }
        }
        call.steps += 1
        return replication.epochs.view(group, granted: try replication.epochs.promise(group, epoch: epoch))
    }
}
