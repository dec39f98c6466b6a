/// What a sync is asked to do, as the command line gives it; the same on every rank.
public struct SyncRequest: ClusterToolRequest, Equatable {
    /// What a sync reports.
    public typealias Report = SyncReport

    /// The folder on rank 0's host whose contents every host's destination is made identical to.
    public var source: String
    /// The folder on every host; `%h` stands for the host's name.
    public var destination: String
    /// Remove what the source lacks.
    public var delete = false
    /// Compare contents (SHA-256) instead of size and modification time.
    public var checksum = false
    /// Keep extended attributes exactly (rsync -X).
    public var extendedAttributes = false
    /// Say what would change on which host, and change nothing.
    public var dryRun = false
    /// Bytes per broadcast chunk.
    public var chunkBytes = 4 << 20
    /// Chunks in flight at once, so that every level of the tree is busy.
    public var window = 4
    /// Bytes of files per batch; each batch's files are in place before the next is sent.
    public var batchBytes: Int64 = 256 << 20
    /// Whether rank 0's host is a destination too (false when the command runs
    /// on a host that only holds the source).
    public var sourceIsDestination = true

    /// A sync of `source` to `destination` that compares size and time, deletes
    /// nothing and leaves extended attributes alone.
    public init(source: String, destination: String) {
        self.source = source
        self.destination = destination
    }
}
