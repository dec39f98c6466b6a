import TrellisFSProtocol

extension GetConfiguration: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> FSConfiguration {
        handler.context.configuration
    }
}
