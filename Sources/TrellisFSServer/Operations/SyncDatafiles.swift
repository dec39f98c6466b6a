import TrellisFSProtocol

extension SyncDatafiles: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        for datafile in datafiles { try handler.context.bstreams.sync(datafile: try handler.checkDatafile(datafile)) }
        handler.replicate(self)
        return Done()
    }
}
