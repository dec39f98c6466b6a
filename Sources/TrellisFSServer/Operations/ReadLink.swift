import TrellisFSProtocol

extension ReadLink: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> String {
        try handler.readLink(handle)
    }
}
