import TrellisFSProtocol

extension Rename: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Renamed {
        guard let unlinked = try handler.rename(fromParent, fromName, toParent, toName, call.credentials) else { return Renamed(replaced: nil) }
        return Renamed(replaced: handler.unlinkedReply(unlinked, &call.followUps))
    }

    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool {
        // Sticky directories and moved directories need the owner and mode of objects that may live elsewhere.
        handler.namesRemoteObject(fromParent, fromName) || handler.namesRemoteObject(toParent, toName)
    }
}
