import TrellisCore
import TrellisFSConnection
import TrellisFSProtocol

/// Capabilities: on a file system with a key, every request on datafiles
/// carries one, which the file's owner gives after checking the caller's
/// permission (`OpenObject`), and the data servers check. The client asks
/// at a file's first read or write, keeps it for half its life, and asks
/// again when one is refused (expired, or the file has grown datafiles since).
extension FileSystemClient {
    /// Whether its servers ask for capabilities: servers do when they hold a
    /// key, and a process that holds one talks only to servers that hold it.
    public var checksCapabilities: Bool { runtime.clusterKey != nil }

    /// A capability for `rights` (none: any) on `file`'s datafiles, held or asked of its owner; nil where none are checked.
    public func capability(for file: ObjectAttributes, _ rights: Capability.Rights) throws -> Capability? {
        guard checksCapabilities else { return nil }
        return try capabilities.capability(for: file, rights, user: credentials) { asked in
            try call(owner: file.handle, OpenObject(file.handle, rights: asked)).capability
        }
    }

    /// A regular file's attributes as they are now, for a read: with a read
    /// capability held, a `Stat`'s; else those of the `OpenObject` that
    /// gets one, so that a file's first read costs one request to its owner, not two.
    public func attributesForReading(_ file: ObjectHandle) throws -> ObjectAttributes {
        guard checksCapabilities, !capabilities.holds(.read, on: file, user: credentials) else { return try stat(handle: file) }
        let opened = try call(owner: file, OpenObject(file, rights: .read))
        if let capability = opened.capability { capabilities.keep(capability, for: file, user: credentials) }
        return opened.attributes
    }

    /// Requests on a file's datafiles sent with a capability, kept to be
    /// sent again with a new one when the data servers refuse it.
    struct CapabilityCalls<Operation: FSOperation> {
        let file: ObjectAttributes
        let rights: Capability.Rights
        let requests: [(server: Int, operation: Operation)]
        let capability: Capability?
        let pending: PendingCalls<Operation>
    }

    /// `requests` on `file`'s datafiles, sent with a capability for `rights`
    /// (held, or asked of its owner first), not yet waited for.
    func startWithCapability<Operation: FSOperation>(
        for file: ObjectAttributes, _ rights: Capability.Rights, _ requests: [(server: Int, operation: Operation)]
    ) throws -> CapabilityCalls<Operation> {
        let held = try capability(for: file, rights)
        return CapabilityCalls(file: file, rights: rights, requests: requests, capability: held, pending: startAll(requests, capability: held))
    }

    /// The replies of started requests; when their capability was refused, all of them again with a new one, once.
    func finish<Operation: FSOperation>(_ calls: CapabilityCalls<Operation>) throws -> [Operation.Reply] {
        do {
            return try finish(calls.pending)
        } catch let error as FSError where error.code == .capabilityRefused && calls.capability != nil {
            capabilities.forget(calls.file.handle, user: credentials)
            return try callAll(calls.requests, capability: try capability(for: calls.file, calls.rights))
        }
    }

    /// The servers' own capability, for fsck's repairs (and for tests that
    /// damage a file system on purpose), made from the cluster key this
    /// process holds. Servers that sign with a `capability_key_file` of
    /// their own refuse it: their repairs are made where that key is
    /// (docs/17-security.md).
    public func serversCapability() -> Capability? {
        runtime.clusterKey.map { CapabilitySigner(secret: $0).serversCapability(issuer: Int(UInt16.max), now: .now()) }
    }
}
