import TrellisFSProtocol

extension PooledDatafiles: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> [ObjectHandle] {
        try handler.requireSuperuser(call.credentials)
        return try handler.context.metadata.pooledDatafiles()
    }
}
