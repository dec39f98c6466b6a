import TrellisFSProtocol

extension ReplaceEntry: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        try handler.replaceEntry(parent, name, handle, kind, call.credentials)
        return Done()
    }

    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool {
        handler.namesRemoteObject(parent, name)
    }
}
