import TrellisFSProtocol

extension Symlink: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.symlink(parent, name, target, call.credentials)
    }
}
