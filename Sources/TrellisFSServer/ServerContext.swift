import TrellisFSConnection
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSStorage

/// What one server's handlers work on: its index (the replica group whose
/// copy it serves), its stores, the file system's configuration, and a clock
/// (injectable, for tests).
public struct ServerContext: Sendable {
    /// Which server this is.
    public var serverIndex: Int
    /// The file system as clients see it.
    public var configuration: FSConfiguration
    /// Objects, entries and attributes (SQLite in a real server).
    public var metadata: any MetadataStore
    /// File data, one bstream file per datafile.
    public var bstreams: BstreamStore
    /// The clock that stamps times (injected by tests).
    public var now: @Sendable () -> Timestamp
    /// The most bytes one read or write request may carry.
    public var maximumTransferBytes: Int
    /// Lines to the other servers, for aggregate operations (nil: none).
    public var peers: PeerLinks?
    /// Datafiles made ahead on the other servers (nil: none are).
    public var pool: DatafilePool?
    /// How long a request to a peer may take.
    public var peerTimeoutSeconds: Double = 30
    /// Whether this copy of its group is the primary (the one copy of a group without replicas always is).
    public var role = ReplicaRole(primary: true)
    /// The lines to the group's secondaries while this copy is its primary (nil: a file system without replicas).
    public var secondaries: Secondaries?
    /// Epochs, votes and probes, in a file system with replicas (nil: without).
    public var replication: ReplicationContext?
    /// Signs and checks capabilities, on a file system with a key (nil: none are asked for).
    public var capabilities: CapabilitySigner?
    /// Whom requests are taken to be made for: proofs of identity, root squash.
    public var identity = IdentityPolicy()
    /// How long a capability given at open lasts (OrangeFS's default is 10 minutes); clients renew at half.
    public var capabilityLifetimeSeconds: Int64 = 600
    /// Capabilities for this server's datafiles that their owners revoked (at a chmod or chown).
    public var revocations = CapabilityRevocations()
    /// Where handlers report what the client does not hear (work left for fsck).
    public var log: @Sendable (String) -> Void = { _ in }

    /// A context without peers or a pool (a lone server, or a test).
    public init(
        serverIndex: Int, configuration: FSConfiguration, metadata: any MetadataStore, bstreams: BstreamStore,
        maximumTransferBytes: Int = 64 << 20, now: @escaping @Sendable () -> Timestamp = Timestamp.now
    ) {
        self.serverIndex = serverIndex
        self.configuration = configuration
        self.metadata = metadata
        self.bstreams = bstreams
        self.maximumTransferBytes = maximumTransferBytes
        self.now = now
    }
}

/// Work a request leaves for after its reply is sent (the bstreams of
/// deleted datafiles); the serving loop carries it out.
public enum FollowUp: Sendable, Equatable {
    case removeBstreams([ObjectHandle])
    /// The datafiles of a file removed inside a commit, which must not wait
    /// on the peers holding them: removed once it is committed (before the
    /// reply, when the commit was the request's own).
    case removeDatafiles([ObjectHandle])
}
