import TrellisFSProtocol

extension Lookup: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.withLocalSize(try handler.lookup(parent, name, call.credentials))
    }
}
