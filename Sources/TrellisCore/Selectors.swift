/// Which sender a receive accepts: one rank or any.
///
/// Integer literals work: `receive(from: 3)` or `receive(from: .any)`.
public enum SourceSelector: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    case any
    case rank(Int)

    public init(integerLiteral value: Int) { self = .rank(value) }

    public func matches(_ source: Int) -> Bool {
        switch self {
        case .any: return true
        case .rank(let rank): return rank == source
        }
    }

    public var description: String {
        switch self {
        case .any: return "any source"
        case .rank(let rank): return "rank \(rank)"
        }
    }
}

/// Which tag a receive accepts: one tag or any.
public enum TagSelector: Hashable, Sendable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    case any
    case tag(Int)

    public init(integerLiteral value: Int) { self = .tag(value) }

    public func matches(_ tag: Int) -> Bool {
        switch self {
        case .any: return true
        case .tag(let wanted): return wanted == tag
        }
    }

    public var description: String {
        switch self {
        case .any: return "any tag"
        case .tag(let tag): return "tag \(tag)"
        }
    }
}

/// The largest tag an application may use (MPI's `MPI_TAG_UB`).
public let maximumTag = Int(Int32.max)
