import TrellisFSProtocol

extension RemoveDatafiles: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        let here = datafiles.filter { $0.server == handler.context.serverIndex }
        try handler.context.metadata.deleteDatafiles(here)
        call.followUps.append(.removeBstreams(here))
        return Done()
    }
}
