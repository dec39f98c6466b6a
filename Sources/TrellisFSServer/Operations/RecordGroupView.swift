import TrellisFSProtocol

extension RecordGroupView: ServedOperation {
    /// Records a vote's outcome when it is newer than what this server
    /// knows and names members placed in the group; the copies here act on
    /// it at their next look.
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> GroupView {
        guard let replication = handler.context.replication else {
            throw FSError(.notSupported, "this file system keeps one copy of each object: it has no replica groups")
        }
        let group = Int(group), members = members.map(Int.init)
        guard replication.placement.members.indices.contains(group) else {
            throw FSError(.invalidArgument, "there is no replica group \(group) in this file system")
        }
        guard !members.isEmpty, Set(members).count == members.count, Set(members).isSubset(of: replication.placement.members[group]) else {
            throw FSError(.invalidArgument, "members \(members) are not copies of group \(group)")
        }
        try replication.epochs.record(group, epoch: epoch, members: members)
        return replication.epochs.view(group)
    }
}
