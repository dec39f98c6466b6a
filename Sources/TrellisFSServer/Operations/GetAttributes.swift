import TrellisFSProtocol

extension GetAttributes: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.withLocalSize(try handler.object(handle))
    }
}
