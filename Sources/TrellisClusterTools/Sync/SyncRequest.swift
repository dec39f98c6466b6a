/// What a sync is asked to do, as the command line gives it; the same on every rank.
public struct SyncRequest: Sendable, Equatable, Codable {
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
    public var chunkBytes = 4 << 20
    public var window = 4
    /// Bytes of files per batch; each batch's files are in place before the next is sent.
    public var batchBytes: Int64 = 256 << 20
    public var sourceIsDestination = true

    public init(source: String, destination: String) {
        self.source = source
        self.destination = destination
    }

    public func destination(on host: String) -> String {
        destination.replacingOccurrences(of: "%h", with: host)
    }
}
