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

    /// `requests` on `file`'s datafiles with a capability for `rights`; one
    /// that is refused is dropped and asked for again, once.
    func withCapability<Result>(for file: ObjectAttributes, _ rights: Capability.Rights, _ requests: (Capability?) throws -> Result) throws -> Result {
        let held = try capability(for: file, rights)
        guard held != nil else { return try requests(nil) }
        do {
            return try requests(held)
        } catch let error as FSError where error.code == .capabilityRefused {
            capabilities.forget(file.handle, user: credentials)
            return try requests(try capability(for: file, rights))
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
