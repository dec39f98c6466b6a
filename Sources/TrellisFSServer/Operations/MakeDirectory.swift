import TrellisFSProtocol

extension MakeDirectory: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.makeDirectory(parent, name, mode, call.credentials)
    }
}
