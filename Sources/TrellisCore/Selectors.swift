/// Which sender a receive accepts: one rank or any.
///
/// Integer literals work: `receive(from: 3)` or `receive(from: .any)`.
public enum SourceSelector: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// Any sender (`MPI_ANY_SOURCE`).
    case any
    /// Only the sender with this rank.
    case rank(Int)

    /// Makes `.rank(value)`, so that a literal like `3` selects rank 3.
    public init(integerLiteral value: Int) { self = .rank(value) }

    /// Whether a message from rank `source` is accepted.
    public func matches(_ source: Int) -> Bool {
        switch self {
        case .any: return true
        case .rank(let rank): return rank == source
        }
    }

    /// `"any source"` or `"rank N"`.
    public var description: String {
        switch self {
        case .any: return "any source"
        case .rank(let rank): return "rank \(rank)"
        }
    }
}

/// Which tag a receive accepts: one tag or any.
public enum TagSelector: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// Any tag (`MPI_ANY_TAG`).
    case any
    /// Only messages with this tag.
    case tag(Int)

    /// Makes `.tag(value)`, so that a literal like `7` selects tag 7.
    public init(integerLiteral value: Int) { self = .tag(value) }

    /// Whether a message with tag `tag` is accepted.
    public func matches(_ tag: Int) -> Bool {
        switch self {
        case .any: return true
        case .tag(let wanted): return wanted == tag
        }
    }

    /// `"any tag"` or `"tag N"`.
    public var description: String {
        switch self {
        case .any: return "any tag"
        case .tag(let tag): return "tag \(tag)"
        }
    }
}

/// The largest tag an application may use (MPI's `MPI_TAG_UB`).
public let maximumTag = Int(Int32.max)
