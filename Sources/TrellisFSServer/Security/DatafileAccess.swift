import TrellisFSConnection
import TrellisFSProtocol

/// An operation on datafiles: which ones it touches and what it needs of
/// them. On a file system with a key, a data server carries one out only
/// with a capability that grants that much on every datafile it names.
protocol DatafileAccess: FSOperation {
    /// The datafiles it reads, writes or deletes.
    var datafilesTouched: [ObjectHandle] { get }
    /// What the capability must grant (none: any capability for the datafiles, as fsync on any open).
    static var rightsNeeded: Capability.Rights { get }
}

extension ReadData: DatafileAccess {
    var datafilesTouched: [ObjectHandle] { [datafile] }
    static var rightsNeeded: Capability.Rights { .read }
}

extension WriteData: DatafileAccess {
    var datafilesTouched: [ObjectHandle] { [datafile] }
    static var rightsNeeded: Capability.Rights { .write }
}

extension TruncateDatafile: DatafileAccess {
    var datafilesTouched: [ObjectHandle] { [datafile] }
    static var rightsNeeded: Capability.Rights { .write }
}

extension SyncDatafiles: DatafileAccess {
    var datafilesTouched: [ObjectHandle] { datafiles }
    static var rightsNeeded: Capability.Rights { [] }
}

extension RemoveDatafiles: DatafileAccess {
    var datafilesTouched: [ObjectHandle] { datafiles }
    static var rightsNeeded: Capability.Rights { .remove }
}

/// What only a server sends another: on a file system with a key it needs
/// the servers' own capability, so no client can pose as a peer.
protocol SentByServers: FSOperation {}

extension FanOut: SentByServers {}
extension DropBstreams: SentByServers {}
extension ApplyChanges: SentByServers {}
extension BeginResync: SentByServers {}
extension ResyncMetadata: SentByServers {}
extension VoteForMembers: SentByServers {}
extension RecordGroupView: SentByServers {}
extension RequestResync: SentByServers {}
extension RevokeCapabilities: SentByServers {}

extension RequestHandler {
    /// Why the request may not be carried out for lack of a capability, or
    /// nil when it may: every request on datafiles, everything only servers
    /// send, and every change relayed by a primary must bring one that
    /// this file system's servers signed, unexpired, granting enough.
    /// `fromServers`: it carries the servers' own capability, checked
    /// already (`carriesServersCapability`), which allows anything.
    func capabilityRefusal(_ envelope: FSRequestEnvelope, fromServers: Bool) -> FSError? {
        guard let signer = context.capabilities, !fromServers else { return nil }
        let operation = envelope.operation
        let kind = type(of: operation)
        let reason: String?
        if envelope.relayEpoch != nil || operation is any SentByServers {
            reason = signer.refusal(of: envelope.capability, needed: .anyDatafile, on: [], now: context.now())
        } else if let access = operation as? any DatafileAccess {
            let now = context.now()
            reason = signer.refusal(of: envelope.capability, needed: type(of: access).rightsNeeded, on: access.datafilesTouched, now: now)
                ?? envelope.capability.flatMap { context.revocations.refusal(of: $0, on: access.datafilesTouched, now: now) }
        } else {
            reason = nil
        }
        guard let reason else { return nil }
        metrics.capabilitiesRefused.increment()
        context.log("refused \(kind.name) (request \(envelope.requestID) of client \(envelope.clientID), uid \(envelope.credentials.uid)): \(reason)")
        return FSError(.capabilityRefused, "server \(context.serverIndex) refused \(kind.name): \(reason)")
    }

    /// Whether the request carries the servers' own capability, genuine and unexpired: it comes from another server.
    func carriesServersCapability(_ envelope: FSRequestEnvelope) -> Bool {
        guard let signer = context.capabilities, let capability = envelope.capability, capability.rights.contains(.anyDatafile) else { return false }
        return signer.refusal(of: capability, needed: .anyDatafile, on: [], now: context.now()) == nil
    }

    /// A capability for `rights` on `file`'s datafiles, made for `credentials`, nil without a key.
    func capability(for file: ObjectAttributes, _ rights: Capability.Rights, _ credentials: Credentials) -> Capability? {
        guard let signer = context.capabilities else { return nil }
        let now = context.now()
        return signer.signed(
            Capability(
                object: file.handle, datafiles: file.datafiles, rights: rights, uid: credentials.uid, gid: credentials.gid,
                issuedMilliseconds: now.milliseconds, expires: now.seconds + context.capabilityLifetimeSeconds, issuer: UInt32(context.serverIndex)))
    }
}
