import NIOCore
import TrellisFSDistribution

/// Where a parallel file's bytes live, as the MPI-IO layer needs them:
/// reads and writes of lists of regions (list I/O, one call for a whole
/// noncontiguous access), size, sync. ROMIO's ADIO layer plays this part
/// over its file-system drivers; here there are two, a Trellis file
/// (`TrellisFileStorage`) and any POSIX file (`PosixFileStorage`).
public protocol FileStorage: AnyObject {
    /// Names the file in errors.
    var path: String { get }
    /// Bytes per strip when the file is striped over servers (collective
    /// buffering then gives each aggregator whole strips), else nil.
    var stripeBytes: UInt64? { get }
    /// Whether a list of regions costs one request per server (list I/O),
    /// so noncontiguous access needs no sieving and large interleaved pieces no aggregation.
    var takesLists: Bool { get }
    /// Starts reading the regions (in order, not overlapping, going
    /// forward); the request gives their bytes packed, cut where the file ends.
    func startRead(_ regions: [AccessPattern.Region]) throws -> StorageRequest
    /// Starts writing `data` into the regions, in order.
    func startWrite(_ data: ByteBuffer, to regions: [AccessPattern.Region]) throws -> StorageRequest
    /// The file's size now.
    func size() throws -> UInt64
    /// Sets the file's size (cutting or extending with zeros).
    func setSize(_ size: UInt64) throws
    /// Makes every byte written durable.
    func sync() throws
    /// Ends this process's use of the file.
    func close() throws
}

extension FileStorage {
    /// The regions' bytes, packed, cut where the file ends.
    public func read(_ regions: [AccessPattern.Region]) throws -> ByteBuffer {
        try startRead(regions).wait() ?? ByteBuffer()
    }

    /// Writes `data` into the regions, in order.
    public func write(_ data: ByteBuffer, to regions: [AccessPattern.Region]) throws {
        _ = try startWrite(data, to: regions).wait()
    }
}

/// A read or write started on a `FileStorage`: `wait` ends it, once.
public final class StorageRequest {
    private var finish: (() throws -> ByteBuffer?)?
    private let giveUp: () -> Void

    /// A request ended by `finish` (a read's bytes, or nil for a write); `giveUp` drops it unfinished.
    public init(finish: @escaping () throws -> ByteBuffer?, giveUp: @escaping () -> Void = {}) {
        self.finish = finish
        self.giveUp = giveUp
    }

    /// A request already done.
    public static func done(_ result: ByteBuffer?) -> StorageRequest { StorageRequest(finish: { result }) }

    /// Waits for it: a read's bytes, nil for a write.
    public func wait() throws -> ByteBuffer? {
        guard let finish else { return nil }
        self.finish = nil
        return try finish()
    }

    deinit {
        if finish != nil { giveUp() }
    }
}

extension AccessPattern.Region {
    /// How many of `regions`' bytes, in order, lie before `end` (regions go forward, so they are a prefix).
    static func bytes(of regions: [AccessPattern.Region], before end: UInt64) -> UInt64 {
        var count: UInt64 = 0
        for region in regions {
            guard region.offset < end else { break }
            count += min(region.length, end - region.offset)
        }
        return count
    }
}
