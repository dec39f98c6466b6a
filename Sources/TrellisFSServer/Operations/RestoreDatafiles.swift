import TrellisFSProtocol

extension RestoreDatafiles: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        try handler.requireSuperuser(call.credentials)
        try handler.context.metadata.restoreDatafiles(datafiles, at: handler.context.now())
        return Done()
    }
}
