/// What a program may tell the MPI-IO layer about its access, under
/// ROMIO's names (MPI_Info keys), so that settings tuned for MPICH carry
/// over. Unknown keys are kept and ignored, as MPI asks.
public struct IOHints: Sendable, Equatable {
    /// Whether a collective call gathers the ranks' pieces at aggregators.
    public enum Choice: String, Sendable {
        /// Always.
        case enable
        /// Never: each rank does its own part.
        case disable
        /// When the ranks' accesses interleave or are noncontiguous (ROMIO's default).
        case automatic
    }

    /// How many ranks aggregate in collective calls (`cb_nodes`; nil: every rank).
    public var aggregators: Int?
    /// Bytes an aggregator sends to storage in one request (`cb_buffer_size`; ROMIO's default, 16 MiB).
    public var collectiveBufferBytes = 16 << 20
    /// Collective buffering of writes (`romio_cb_write`).
    public var collectiveWrites = Choice.automatic
    /// Collective buffering of reads (`romio_cb_read`).
    public var collectiveReads = Choice.automatic
    /// Data sieving of independent noncontiguous reads on storage without list I/O (`romio_ds_read`).
    public var sievingReads = Choice.automatic
    /// The span one sieving read covers (`ind_rd_buffer_size`; ROMIO's default, 4 MiB).
    public var sievingBufferBytes = 4 << 20
    /// Keys this layer does not use.
    public private(set) var ignored: [String: String] = [:]

    /// The defaults.
    public init() {}

    /// Hints from MPI_Info-style keys and values; a known key with a value it cannot take is an error.
    public init(_ info: [String: String]) throws {
        for (key, value) in info.sorted(by: { $0.key < $1.key }) {
            switch key {
            case "cb_nodes": aggregators = try Self.positive(key, value)
            case "cb_buffer_size": collectiveBufferBytes = try Self.positive(key, value)
            case "ind_rd_buffer_size": sievingBufferBytes = try Self.positive(key, value)
            case "romio_cb_write": collectiveWrites = try Self.choice(key, value)
            case "romio_cb_read": collectiveReads = try Self.choice(key, value)
            case "romio_ds_read": sievingReads = try Self.choice(key, value)
            default: ignored[key] = value
            }
        }
    }

    private static func positive(_ key: String, _ value: String) throws -> Int {
        guard let number = Int(value), number > 0 else { throw IOError.invalidHint(key, value, "a positive number") }
        return number
    }

    private static func choice(_ key: String, _ value: String) throws -> Choice {
        guard let choice = Choice(rawValue: value) else { throw IOError.invalidHint(key, value, "enable, disable or automatic") }
        return choice
    }
}
