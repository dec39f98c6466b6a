import TrellisFSProtocol

extension RemoveObject: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> LinksLeft {
        handler.unlinkedReply(try handler.removeObject(handle), &call.followUps)
    }
}
