import DequeModule
import TrellisCore

/// Where a message matches: its communicator's context, and whether it is
/// point-to-point or collective traffic (each has its own space).
struct MatchSpace: Hashable, Sendable {
    var context: ContextID
    var collective: Bool
}

/// MPI's two matching queues, as a pure value: receives posted before their
/// message arrived, and messages that arrived before their receive.
///
/// Both queues keep arrival order per space, so the first match is always the
/// oldest: messages from one sender never overtake each other, and a wildcard
/// receive takes the earliest message that fits.
struct MatchingQueues<Posted, Arrived> {
    static var anySource: Int { -1 }
    static var anyTag: Int { -1 }

    struct PostedEntry {
        var id: UInt64
        var source: Int
        var tag: Int
        var value: Posted

        func accepts(source arrivedSource: Int, tag arrivedTag: Int) -> Bool {
            MatchingQueues.selectors(source: source, tag: tag, accept: arrivedSource, arrivedTag)
        }
    }

    static func selectors(source: Int, tag: Int, accept arrivedSource: Int, _ arrivedTag: Int) -> Bool {
        (source == anySource || source == arrivedSource) && (tag == anyTag || tag == arrivedTag)
    }

    struct ArrivedEntry {
        var source: Int
        var tag: Int
        var value: Arrived
    }

    private var posted: [MatchSpace: Deque<PostedEntry>] = [:]
    private var unexpected: [MatchSpace: Deque<ArrivedEntry>] = [:]
    private(set) var postedCount = 0
    private(set) var unexpectedCount = 0

    /// Takes the oldest unexpected message the receive accepts, or queues the receive.
    mutating func post(_ entry: PostedEntry, in space: MatchSpace) -> ArrivedEntry? {
        // Mutating through the dictionary's subscript keeps the deque unshared,
        // so removal does not copy the queue.
        if let index = unexpected[space]?.firstIndex(where: { entry.accepts(source: $0.source, tag: $0.tag) }) {
            let found = unexpected[space]!.remove(at: index)
            if unexpected[space]!.isEmpty { unexpected[space] = nil }
            unexpectedCount -= 1
            return found
        }
        posted[space, default: []].append(entry)
        postedCount += 1
        return nil
    }

    /// Hands an arriving message to the oldest receive that accepts it, or
    /// keeps it as unexpected.
    mutating func arrive(_ entry: ArrivedEntry, in space: MatchSpace) -> PostedEntry? {
        if let found = takePosted(in: space, where: { $0.accepts(source: entry.source, tag: entry.tag) }) {
            return found
        }
        unexpected[space, default: []].append(entry)
        unexpectedCount += 1
        return nil
    }

    /// Whether an arriving message would be taken by a posted receive.
    func hasPostedReceive(in space: MatchSpace, source: Int, tag: Int) -> Bool {
        posted[space]?.contains { $0.accepts(source: source, tag: tag) } ?? false
    }

    /// The oldest unexpected message a receive with these selectors would take.
    func peek(source: Int, tag: Int, in space: MatchSpace) -> ArrivedEntry? {
        unexpected[space]?.first { Self.selectors(source: source, tag: tag, accept: $0.source, $0.tag) }
    }

    mutating func removePosted(id: UInt64, in space: MatchSpace) -> PostedEntry? {
        takePosted(in: space) { $0.id == id }
    }

    /// Removes and returns every posted receive the predicate selects, in every space.
    mutating func removePosted(where predicate: (MatchSpace, PostedEntry) -> Bool) -> [PostedEntry] {
        var removed: [PostedEntry] = []
        for (space, queue) in posted {
            var kept = Deque<PostedEntry>()
            for entry in queue {
                if predicate(space, entry) { removed.append(entry) } else { kept.append(entry) }
            }
            posted[space] = kept.isEmpty ? nil : kept
        }
        postedCount -= removed.count
        return removed
    }

    /// Empties a space (its communicator is gone): what was queued is returned.
    mutating func removeAll(in space: MatchSpace) -> (posted: [PostedEntry], unexpected: [ArrivedEntry]) {
        let removedPosted = Array(posted.removeValue(forKey: space) ?? [])
        let removedUnexpected = Array(unexpected.removeValue(forKey: space) ?? [])
        postedCount -= removedPosted.count
        unexpectedCount -= removedUnexpected.count
        return (removedPosted, removedUnexpected)
    }

    private mutating func takePosted(in space: MatchSpace, where predicate: (PostedEntry) -> Bool) -> PostedEntry? {
        guard let index = posted[space]?.firstIndex(where: predicate) else { return nil }
        let found = posted[space]!.remove(at: index)
        if posted[space]!.isEmpty { posted[space] = nil }
        postedCount -= 1
        return found
    }

    func describe() -> [String] {
        var lines: [String] = []
        for (space, queue) in posted {
            lines.append("  posted in \(space.context)\(space.collective ? " (collective)" : ""): " + queue.map { "src \($0.source) tag \($0.tag)" }.joined(separator: ", "))
        }
        for (space, queue) in unexpected {
            lines.append("  unexpected in \(space.context)\(space.collective ? " (collective)" : ""): " + queue.map { "src \($0.source) tag \($0.tag)" }.joined(separator: ", "))
        }
        return lines
    }
}
