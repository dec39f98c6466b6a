import TrellisFSProtocol
import TrellisFSStorage

/// What a copy lacks of one change its primary made: the commit's rows, or
/// the bstreams whose bytes changed (sent whole, as they are by then).
enum MissedChange: Sendable {
    case rows(Changeset)
    case bstreams([ObjectHandle])
}

/// What one copy of a group has missed since it stopped taking its
/// primary's changes: the commits' rows in order, and the bstreams to send
/// again. A copy whose log is complete is resynced with it alone; applying
/// rows it already had leaves the same rows (a changeset's conflicts resolve
/// to its own values), so the log may start a little early, never late.
struct MissedChanges: Sendable {
    /// The commits' rows, in the order made.
    private(set) var rows: [Changeset] = []
    /// The bstreams changed or removed.
    private(set) var bstreams: Set<ObjectHandle> = []
    private var rowBytes = 0
    /// Whether the copy had every change made before the log began (not
    /// while a full resync that began the log is still sending the rest).
    private var coversEverythingBefore: Bool
    /// Whether the log grew past its limits and was given up.
    private var overflowed = false

    /// Whether the log holds all that the copy lacks, so that sending it is a resync.
    var isComplete: Bool { coversEverythingBefore && !overflowed }

    /// Past these the log is given up (the copy is resynced in full).
    static let limitBytes = 256 << 20, limitBstreams = 1 << 20

    /// An empty log, for a copy that has every change made before it, or
    /// (a full resync's) not yet.
    init(coversEverythingBefore: Bool) { self.coversEverythingBefore = coversEverythingBefore }

    /// How many changes it holds.
    var count: Int { rows.count + bstreams.count }

    mutating func add(_ change: MissedChange) {
        guard !overflowed else { return }
        switch change {
        case .rows(let changes):
            rows.append(changes)
            rowBytes += changes.bytes.count
        case .bstreams(let datafiles):
            bstreams.formUnion(datafiles)
        }
        if rowBytes > Self.limitBytes || bstreams.count > Self.limitBstreams { giveUp() }
    }

    /// Takes what the log holds, leaving it empty (and as complete as it was).
    mutating func take() -> MissedChanges {
        defer { (rows, bstreams, rowBytes) = ([], [], 0) }
        return self
    }

    /// Puts `earlier` back in front (a resend of what could not be sent).
    mutating func putBack(_ earlier: MissedChanges) {
        rows = earlier.rows + rows
        rowBytes += earlier.rowBytes
        bstreams.formUnion(earlier.bstreams)
    }

    /// The log cannot tell all that is missed any more.
    mutating func giveUp() {
        (rows, bstreams, rowBytes, overflowed) = ([], [], 0, true)
    }

    /// The copy now has every change made before the log began (a full resync sent them).
    mutating func markCoversEverythingBefore() { coversEverythingBefore = true }
}
