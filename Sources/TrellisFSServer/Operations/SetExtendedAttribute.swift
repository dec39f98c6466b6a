import TrellisFSProtocol

extension SetExtendedAttribute: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        try handler.setExtendedAttribute(handle, name, value, mode, call.credentials)
        return Done()
    }
}
