import TrellisFSProtocol

extension SetAttributes: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        // Before the change: its revocations wait on the servers of the file's datafiles.
        if mayWaitOnPeers(handler) { try handler.refuseWaitingOnPeersInACommit("the servers of \(handle)'s datafiles to revoke capabilities") }
        let changed = try handler.setAttributes(handle, changes, call.credentials)
        if changesAccess { handler.revokeCapabilities(of: changed) }
        return try handler.withLocalSize(changed)
    }

    /// Whether the change may take access away: a new mode, owner or group.
    var changesAccess: Bool { changes.mode != nil || changes.uid != nil || changes.gid != nil }

    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool {
        changesAccess && handler.context.capabilities != nil && !handler.hasOnlyLocalDatafiles(handle)
    }
}
