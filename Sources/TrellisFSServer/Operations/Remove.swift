import TrellisFSProtocol

extension Remove: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> LinksLeft {
        handler.unlinkedReply(try handler.remove(parent, name, directory: directory, call.credentials), &call.followUps)
    }
}
