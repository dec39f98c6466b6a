import TrellisFSProtocol

extension DropBstreams: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        try handler.dropBstreams(datafiles)
        return Done()
    }
}
