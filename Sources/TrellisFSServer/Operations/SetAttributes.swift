import TrellisFSProtocol

extension SetAttributes: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.withLocalSize(try handler.setAttributes(handle, changes, call.credentials))
    }
}
