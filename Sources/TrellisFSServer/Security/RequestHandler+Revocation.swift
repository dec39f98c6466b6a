import TrellisFSProtocol

extension RequestHandler {
    /// Ends the capabilities given for `file` before now (its mode, owner or
    /// group has just changed), on every server that holds one of its
    /// datafiles: a reader who lost the right stops reading at the chmod,
    /// not at the capability's expiry. A capability asked for in the same
    /// millisecond as the change, before it, escapes. A server that cannot
    /// be told is logged: the capabilities it serves hold until they expire.
    func revokeCapabilities(of file: ObjectAttributes) {
        guard context.capabilities != nil, file.kind == .file, !file.datafiles.isEmpty else { return }
        let now = context.now()
        for (server, datafiles) in Dictionary(grouping: file.datafiles, by: { $0.server ?? context.serverIndex }).sorted(by: { $0.key < $1.key }) {
            let revocation = RevokeCapabilities(datafiles, issuedBeforeMilliseconds: now.milliseconds)
            guard server != context.serverIndex else {
                record(revocation)
                continue
            }
            do {
                guard let peers = context.peers else { throw FSError(.serverUnavailable, "this server has no links to its peers") }
                _ = try peers.call(revocation, to: server, deadline: .after(seconds: context.peerTimeoutSeconds))
            } catch {
                context.log(
                    "could not revoke the capabilities for file \(file.handle) on server \(server): \(error); "
                        + "they hold until they expire (at most \(context.capabilityLifetimeSeconds) s)")
            }
        }
    }

    /// Takes a revocation for this server's datafiles, made here or sent by their owner.
    func record(_ revocation: RevokeCapabilities) {
        context.revocations.revoke(
            revocation.datafiles, issuedBeforeMilliseconds: revocation.issuedBeforeMilliseconds, now: context.now(),
            lifetimeSeconds: context.capabilityLifetimeSeconds)
    }
}
