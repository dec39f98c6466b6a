/// How a file's bytes are spread over its datafiles: PVFS's per-file
/// distribution. Both kinds repeat one cycle of strips, strip `j` of every
/// cycle going to datafile `j`:
///
/// - `simpleStripe`: every strip is `stripSizeBytes` (PVFS's ssize), over
///   `datafileCount` datafiles (pcount); `firstServer` (base) says which
///   server holds datafile 0, the rest following in server order.
/// - `variableStrip`: strip `j` is `stripSizesBytes[j]` (PVFS2's varstrip),
///   so servers can hold unequal shares.
///
/// ```swift
/// let layout = try Distribution.simpleStripe(stripSizeBytes: 65_536, datafileCount: 4)
/// layout.locate(200_000)            // (datafile: 3, physical: 3_392)
/// layout.pieces(offset: 60_000, length: 10_000)   // two pieces, datafiles 0 and 1
/// ```
/// All arithmetic is pure and total: offsets near `UInt64.max` are errors,
/// not traps.
public struct Distribution: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Which of PVFS's distributions; the raw values are the names it goes by in TOML and JSON.
    public enum Kind: String, Sendable, Hashable, Codable {
        case simpleStripe = "simple_stripe"
        case variableStrip = "varstrip"
    }

    /// Equal strips (`simpleStripe`) or one size per datafile (`variableStrip`).
    public let kind: Kind
    /// The size of each strip of one cycle, one per datafile.
    public let stripSizesBytes: [UInt64]
    /// The server (index in the file system's server list) of datafile 0.
    public let firstServer: Int
    /// Bytes in one cycle (one strip on every datafile).
    public let cycleBytes: UInt64
    /// How many copies of the file's bytes are kept, when a directory chose
    /// it (`trellis fs layout set --replicas N`); nil: the file system's own
    /// `replicas`. A file's bytes then live in the replica groups kept for
    /// that count, as a CephFS directory's layout names a data pool.
    public let copies: Int?
    /// Where each strip starts within a cycle.
    let stripStarts: [UInt64]

    /// The most copies a directory may ask for.
    public static let maximumCopies = 3

    /// The largest strip and cycle accepted, so that offset arithmetic
    /// stays far from overflow.
    public static let maximumStripBytes: UInt64 = 1 << 40
    /// The most datafiles one file may have.
    public static let maximumDatafiles = 65_536

    /// Strips of `stripSizeBytes` over `datafileCount` datafiles, datafile 0 on server `firstServer`; throws for a zero strip or count.
    public static func simpleStripe(stripSizeBytes: UInt64, datafileCount: Int, firstServer: Int = 0) throws -> Distribution {
        guard datafileCount >= 1, datafileCount <= maximumDatafiles else {
            throw DistributionError("a stripe needs 1 to \(maximumDatafiles) datafiles, not \(datafileCount)")
        }
        return try Distribution(kind: .simpleStripe, stripSizesBytes: Array(repeating: stripSizeBytes, count: datafileCount), firstServer: firstServer)
    }

    /// Strip `j` of each cycle is `stripSizesBytes[j]` bytes on datafile `j`; throws for an empty list or a zero strip.
    public static func variableStrip(stripSizesBytes: [UInt64], firstServer: Int = 0) throws -> Distribution {
        try Distribution(kind: .variableStrip, stripSizesBytes: stripSizesBytes, firstServer: firstServer)
    }

    private init(kind: Kind, stripSizesBytes: [UInt64], firstServer: Int, copies: Int? = nil) throws {
        guard !stripSizesBytes.isEmpty, stripSizesBytes.count <= Self.maximumDatafiles else {
            throw DistributionError("a distribution needs 1 to \(Self.maximumDatafiles) strips, not \(stripSizesBytes.count)")
        }
        if let bad = stripSizesBytes.first(where: { $0 == 0 || $0 > Self.maximumStripBytes }) {
            throw DistributionError("a strip of \(bad) bytes is outside 1 ... \(Self.maximumStripBytes)")
        }
        guard firstServer >= 0 else { throw DistributionError("the first server cannot be \(firstServer)") }
        if let copies, !(1 ... Self.maximumCopies).contains(copies) {
            throw DistributionError("\(copies) copies is outside 1 ... \(Self.maximumCopies)")
        }
        var starts: [UInt64] = []
        var total: UInt64 = 0
        for size in stripSizesBytes {
            starts.append(total)
            total += size
        }
        self.kind = kind
        self.stripSizesBytes = stripSizesBytes
        self.firstServer = firstServer
        self.copies = copies
        self.stripStarts = starts
        self.cycleBytes = total
    }

    /// Datafiles a file of this distribution has.
    public var datafileCount: Int { stripSizesBytes.count }

    /// The distribution as `trellis fs layout` prints it.
    public var description: String {
        let copied = copies.map { ", \($0) \($0 == 1 ? "copy" : "copies")" } ?? ""
        switch kind {
        case .simpleStripe: return "simple_stripe(strip \(stripSizesBytes[0]) B, \(datafileCount) datafiles, first server \(firstServer)\(copied))"
        case .variableStrip: return "varstrip(\(stripSizesBytes.map(String.init).joined(separator: ",")) B, first server \(firstServer)\(copied))"
        }
    }

    /// The same strips with datafile 0 on `server` (the server that keeps
    /// the file's metadata, so a stuffed file's one datafile lives with it).
    public func placed(onServer server: Int) throws -> Distribution {
        try Distribution(kind: kind, stripSizesBytes: stripSizesBytes, firstServer: server, copies: copies)
    }

    /// The same strips with `copies` copies of the bytes (nil: the file system's own count).
    public func keeping(copies: Int?) throws -> Distribution {
        try Distribution(kind: kind, stripSizesBytes: stripSizesBytes, firstServer: firstServer, copies: copies)
    }

    /// The server of datafile `index` among `serverCount` servers.
    public func server(ofDatafile index: Int, serverCount: Int) -> Int {
        (firstServer + index) % max(serverCount, 1)
    }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey { case kind, stripSizesBytes, firstServer, copies }

    /// Decodes and checks, as the factories do.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            kind: try container.decode(Kind.self, forKey: .kind),
            stripSizesBytes: try container.decode([UInt64].self, forKey: .stripSizesBytes),
            firstServer: try container.decode(Int.self, forKey: .firstServer),
            copies: try container.decodeIfPresent(Int.self, forKey: .copies))
    }

    /// Encodes kind, strip sizes and first server.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(stripSizesBytes, forKey: .stripSizesBytes)
        try container.encode(firstServer, forKey: .firstServer)
        try container.encodeIfPresent(copies, forKey: .copies)
    }

    /// The same kind, strips, first server and copies.
    public static func == (lhs: Distribution, rhs: Distribution) -> Bool {
        lhs.kind == rhs.kind && lhs.stripSizesBytes == rhs.stripSizesBytes && lhs.firstServer == rhs.firstServer && lhs.copies == rhs.copies
    }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(stripSizesBytes)
        hasher.combine(firstServer)
        hasher.combine(copies)
    }
}

/// A distribution that cannot be made or an offset it cannot place.
public struct DistributionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, starting "distribution:".
    public let description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = "distribution: " + description }
}
