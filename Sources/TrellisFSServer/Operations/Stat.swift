import TrellisFSProtocol

extension Stat: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.stat(handle, steps: &call.steps)
    }

    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool {
        !handler.hasOnlyLocalDatafiles(handle)
    }
}
