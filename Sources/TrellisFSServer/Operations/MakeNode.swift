import TrellisFSProtocol

extension MakeNode: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.makeNode(parent, name, kind, mode, rdev, call.credentials)
    }
}
