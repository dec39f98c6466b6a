import TrellisFSProtocol

extension SetLinkCount: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.requireSuperuser(call.credentials)
        guard count >= 1 else { throw FSError(.invalidArgument, "a link count of 0 would leave object \(handle) nameless: remove it instead") }
        return try handler.context.metadata.setLinkCount(handle, to: count)
    }
}
