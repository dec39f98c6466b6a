import TrellisFSProtocol

extension HardLink: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.link(handle, parent, name, call.credentials)
    }
}
