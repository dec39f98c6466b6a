import TrellisFSProtocol

extension OrphanBstreams: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> [ObjectHandle] {
        try handler.requireSuperuser(call.credentials)
        return try handler.orphanBstreams(graceSeconds: Int64(graceSeconds), remove: remove)
    }
}
