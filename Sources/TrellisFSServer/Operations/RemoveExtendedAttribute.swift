import TrellisFSProtocol

extension RemoveExtendedAttribute: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        try handler.removeExtendedAttribute(handle, name, call.credentials)
        return Done()
    }
}
