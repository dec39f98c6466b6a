import NIOCore
import TrellisFSClient
import TrellisFSDistribution
import TrellisFSProtocol

/// A Trellis file as a parallel file's storage: every access, however
/// noncontiguous, is one list-I/O call (one request per data server), as
/// ROMIO's PVFS2 driver uses PVFS2's list I/O rather than data sieving.
public final class TrellisFileStorage: FileStorage {
    public let path: String
    public let file: OpenFile
    private let client: FileSystemClient

    /// Opens `path` on `client`'s file system (creating it when `create`).
    public init(client: FileSystemClient, path: String, access: OpenFile.Access, create: Bool) throws {
        self.path = path
        self.client = client
        file = try client.open(path, access: access, create: create)
    }

    public var takesLists: Bool { true }

    /// The strip size of a file striped in equal strips (a varstrip file has none).
    public var stripeBytes: UInt64? {
        guard let distribution = file.attributes.distribution, distribution.kind == .simpleStripe else { return nil }
        return distribution.stripSizesBytes.first
    }

    public func startRead(_ regions: [AccessPattern.Region]) throws -> StorageRequest {
        guard !regions.isEmpty else { return .done(ByteBuffer()) }
        if regions.count == 1 {
            // One region: the open file's read, which finds the end of the file itself.
            let pending = try file.startRead(at: regions[0].offset, length: regions[0].length)
            return StorageRequest(finish: { [file] in try file.finish(pending).joined() }, giveUp: { pending.abandon() })
        }
        let pending = try file.startRead(pattern: try AccessPattern(regions: regions))
        return StorageRequest(
            finish: { [file] in
                let (pieces, complete) = try file.finish(pending)
                var packed = pieces.joined()
                // Bytes missing: a hole, or the end of the file, which only the size tells.
                if !complete { packed.moveWriterIndex(to: packed.readerIndex + Int(AccessPattern.Region.bytes(of: regions, before: try file.size()))) }
                return packed
            },
            giveUp: { pending.abandon() })
    }

    public func startWrite(_ data: ByteBuffer, to regions: [AccessPattern.Region]) throws -> StorageRequest {
        guard !regions.isEmpty else { return .done(nil) }
        let pending = try file.startWrite(data, pattern: try AccessPattern(regions: regions))
        return StorageRequest(finish: { [file] in
            try file.finish(pending)
            return nil
        }, giveUp: { pending.abandon() })
    }

    public func size() throws -> UInt64 { try file.size() }
    public func setSize(_ size: UInt64) throws { try file.truncate(to: size) }
    public func sync() throws { try file.sync(always: true) }
    public func close() throws { try file.close() }
}
