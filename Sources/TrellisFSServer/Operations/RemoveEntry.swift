import TrellisFSProtocol

extension RemoveEntry: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        try handler.removeEntry(parent, name, handle, owner: owner, call.credentials)
        return Done()
    }
}
