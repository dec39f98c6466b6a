import TrellisFSProtocol

extension RequestResync: ServedOperation {
    /// Starts a resync of the copy on `member` (unless one is under way or
    /// the copy is a member already); the resync runs on a thread of its own.
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        let (replication, secondaries) = try handler.replicaGroup(Int(group))
        guard handler.context.role.isPrimary, let replicator = secondaries.current else {
            throw FSError(.notPrimary, "this copy of group \(group) is not its primary: a resync comes from the primary")
        }
        let member = Int(member)
        guard replication.placement.members[Int(group)].contains(member), member != replication.server else {
            throw FSError(.invalidArgument, "server \(member) keeps no copy of group \(group)")
        }
        if replication.epochs.entry(Int(group))?.members.contains(member) == true { return Done() }
        let group = Int(group)
        let started = secondaries.startResync(of: member) { update in
            // A copy made anew has none of what the log assumes it has.
            if full { replicator.giveUpLog(of: member) }
            Resync(group: group, member: member, handler: handler, replicator: replicator, replication: replication, update: update).run()
        }
        // A copy out of its group asks again every few seconds while it is resynced; only a copy made anew
        // since its resync from the log began stops that resync (which then cannot take it back) for a full one.
        // Giving up the log of a full resync under way would lose the changes made since its snapshot.
        if !started, full, secondaries.resync(of: member)?.full == false { replicator.giveUpLog(of: member) }
        return Done()
    }
}
