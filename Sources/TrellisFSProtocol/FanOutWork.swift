/// Work a server spreads over other servers in a tree (§7 of the
/// persistent-services paper, Latham, Ross and Thakur, "Can MPI Be Used for
/// Persistent Parallel Services?"): each server in the tree does its own
/// share and forwards the rest to its children, and results flow back up, so
/// one client request costs the client one message each way and the servers
/// O(log N) time steps.
public enum FanOutWork: Sendable, Equatable, WireCodable {
    /// `counts[i]` new datafiles on the tree's server `i`.
    case createDatafiles(counts: [UInt32])
    /// Each server deletes those of these datafiles it holds.
    case removeDatafiles([ObjectHandle])
    /// Each server reports the sizes of those of these datafiles it holds.
    case datafileSizes([ObjectHandle])

    /// Writes the kind of work and its handles.
    public func encode(into writer: inout WireWriter) {
        switch self {
        case .createDatafiles(let counts):
            writer.write(UInt8(1))
            writer.write(counts)
        case .removeDatafiles(let handles):
            writer.write(UInt8(2))
            writer.write(handles)
        case .datafileSizes(let handles):
            writer.write(UInt8(3))
            writer.write(handles)
        }
    }

    /// Reads work written by `encode`; `protocolViolation` for an unknown kind.
    public init(from reader: inout WireReader) throws {
        switch try reader.read(UInt8.self) {
        case 1:
            let counts: [UInt32] = try reader.read()
            guard counts.count <= ObjectHandle.maximumServers else { throw FSError(.protocolViolation, "a fan-out to \(counts.count) servers") }
            self = .createDatafiles(counts: counts)
        case 2: self = .removeDatafiles(try reader.readArray())
        case 3: self = .datafileSizes(try reader.readArray())
        case let other: throw FSError(.protocolViolation, "unknown fan-out work \(other)")
        }
    }
}

/// What a subtree did: datafiles made, sizes found (parallel to `sized`),
/// and the failures of servers that could not do their share.
public struct FanOutResult: Sendable, Equatable, WireRecord {
    /// Datafiles made.
    public var made: [ObjectHandle]
    /// Datafiles whose sizes were asked for.
    public var sized: [ObjectHandle]
    /// Their sizes, in the order of `sized`.
    public var sizes: [UInt64]
    /// Each server that could not do its share, and why.
    public var failures: [String]

    /// What a subtree reports.
    public init(made: [ObjectHandle] = [], sized: [ObjectHandle] = [], sizes: [UInt64] = [], failures: [String] = []) {
        self.made = made
        self.sized = sized
        self.sizes = sizes
        self.failures = failures
    }

    public mutating func merge(_ other: FanOutResult) {
        made += other.made
        sized += other.sized
        sizes += other.sizes
        failures += other.failures
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.made, \.sized, \.sizes, \.failures, make: { made, sized, sizes, failures in
        guard sizes.count == sized.count else { throw FSError(.protocolViolation, "\(sizes.count) sizes for \(sized.count) datafiles") }
        return FanOutResult(made: made, sized: sized, sizes: sizes, failures: failures)
    })
}

/// The binomial tree over a list of servers whose first is the root: the
/// root sends the upper half of the rest to its first child, then halves
/// again, so the tree is ceil(log2 N) deep and the biggest subtree starts first.
public enum FanOutTree {
    /// The subtrees the list's first server hands on, each a list whose first is the child.
    public static func subtrees<T>(of servers: [T]) -> [[T]] {
        var result: [[T]] = []
        var end = servers.count
        while end > 1 {
            let middle = (end + 1) / 2
            result.append(Array(servers[middle..<end]))
            end = middle
        }
        return result
    }

    /// Rounds of messages a fan-out over `serverCount` servers takes: the binary tree's depth, ⌈log₂ n⌉.
    public static func depth(serverCount: Int) -> Int {
        var depth = 0
        while (1 << depth) < serverCount { depth += 1 }
        return depth
    }
}
