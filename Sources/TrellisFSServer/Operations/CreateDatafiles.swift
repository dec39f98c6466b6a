import TrellisFSProtocol

extension CreateDatafiles: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> [ObjectHandle] {
        try handler.context.metadata.createDatafiles(count: Int(count), at: handler.context.now())
    }
}
