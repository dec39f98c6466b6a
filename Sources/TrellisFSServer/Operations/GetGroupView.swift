import TrellisFSProtocol

extension GetGroupView: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> GroupView {
        guard let replication = handler.context.replication else {
            throw FSError(.notSupported, "this file system keeps one copy of each object: it has no replica groups")
        }
        return replication.epochs.view(Int(group))
    }
}
