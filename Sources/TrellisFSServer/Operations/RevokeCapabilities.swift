import TrellisFSProtocol

extension RevokeCapabilities: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        handler.context.revocations.revoke(
            datafiles, issuedBeforeMilliseconds: issuedBeforeMilliseconds, now: handler.context.now(), lifetimeSeconds: handler.context.capabilityLifetimeSeconds)
        return Done()
    }
}
