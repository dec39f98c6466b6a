import TrellisFSProtocol

extension AddEntry: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        try handler.addEntry(parent, name, handle, kind, call.credentials)
        return Done()
    }
}
