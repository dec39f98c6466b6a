import TrellisFSProtocol

extension StatFileSystem: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> FSStatistics {
        try handler.statistics()
    }
}
