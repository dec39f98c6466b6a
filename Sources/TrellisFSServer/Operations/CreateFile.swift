import TrellisFSProtocol

extension CreateFile: ServedOperation {
    /// Its peers only make datafiles.
    static var peersNeverCallBack: Bool { true }

    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Created {
        if handler.context.peers != nil, !stuffed || !handler.context.configuration.dataReplicas.isEmpty {
            return try handler.createSpreadFile(
                parent, name, mode, distribution, stuffed: stuffed, call.credentials, prepared: call.prepared, steps: &call.steps)
        }
        var created = try handler.createFile(parent, name, mode, distribution, stuffed: stuffed, call.credentials)
        // Its datafiles were made in this request and hold nothing yet: no bstream to look at.
        created.object.size = 0
        created.object.sizeIsKnown = true
        return created
    }

    func datafilesBeforeCommit(_ handler: RequestHandler, _ credentials: Credentials) throws -> PreparedDatafiles? {
        guard handler.context.peers != nil, !stuffed || !handler.context.configuration.dataReplicas.isEmpty else { return nil }
        return try handler.datafilesBeforeCommit(parent, name, distribution, stuffed: stuffed, credentials)
    }

    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool {
        // A file whose bytes a directory keeps in other groups is made with their datafiles.
        let configuration = handler.context.configuration
        if !configuration.dataReplicas.isEmpty,
           configuration.firstGroup(copies: (distribution ?? (try? handler.context.metadata.attributes(of: parent))?.distribution)?.copies) != 0 {
            return true
        }
        // With a datafile of every other server in the pool, it waits on no peer.
        return !stuffed && !(handler.context.pool?.holdsEveryServer ?? false)
    }
}
