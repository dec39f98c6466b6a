import TrellisFSProtocol

extension SpreadFile: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        if datafiles.isEmpty, handler.context.peers != nil { return try handler.spreadFile(file, call.credentials, steps: &call.steps) }
        return try handler.withLocalSize(try handler.spreadFile(file, datafiles, call.credentials))
    }

    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool {
        datafiles.isEmpty && !(handler.context.pool?.holdsEveryServer ?? false)
    }
}
