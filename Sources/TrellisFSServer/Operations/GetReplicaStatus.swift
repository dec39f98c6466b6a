import TrellisFSProtocol

extension GetReplicaStatus: ServedOperation {
    /// This copy's role and epoch, and from a primary its members' states.
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> CopyStatus {
        guard let replication = handler.context.replication else {
            let server = UInt32(handler.context.serverIndex)
            return CopyStatus(group: server, server: server, role: .primary, epoch: 0, members: [server])
        }
        guard Int(group) == handler.context.serverIndex else {
            throw FSError(.invalidArgument, "a status of group \(group) asked of the copy of group \(handler.context.serverIndex)")
        }
        let view = replication.epochs.view(Int(group))
        let role = handler.context.role
        return CopyStatus(
            group: group, server: UInt32(replication.server), role: role.status, epoch: view.epoch, members: view.members,
            memberStates: role.isPrimary ? handler.context.secondaries?.memberStates() ?? [] : [])
    }
}
