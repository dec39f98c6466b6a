import TrellisFSProtocol

extension CreateFile: ServedOperation {
    /// Its peers only make datafiles.
    static var peersNeverCallBack: Bool { true }

    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        if !stuffed, handler.context.peers != nil {
            return try handler.createSpreadFile(parent, name, mode, distribution, call.credentials, steps: &call.steps)
        }
        var created = try handler.createFile(parent, name, mode, distribution, stuffed: stuffed, call.credentials)
        // Its datafiles were made in this request and hold nothing yet: no bstream to look at.
        created.size = 0
        created.sizeIsKnown = true
        return created
    }

    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool {
        // With a datafile of every other server in the pool, it waits on no peer.
        !stuffed && !(handler.context.pool?.holdsEveryServer ?? false)
    }
}
