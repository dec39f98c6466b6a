import TrellisFSProtocol

extension RevokeCapabilities: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        handler.record(self)
        return Done()
    }
}
