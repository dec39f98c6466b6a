import Synchronization
import TrellisFSProtocol

/// What a copy of a replica group does now: the primary answers clients
/// and sends every change to the secondaries; a secondary takes only what
/// its primary sends. A secondary becomes primary when its group fails over.
public final class ReplicaRole: Sendable {
    private static let secondary: UInt8 = 0, primary: UInt8 = 1, stale: UInt8 = 2
    private let state: Atomic<UInt8>

    /// A copy that starts as its group's primary, or as a secondary.
    public init(primary: Bool) { state = Atomic(primary ? Self.primary : Self.secondary) }

    /// Whether this copy is its group's primary.
    public var isPrimary: Bool { state.load(ordering: .acquiring) == Self.primary }

    /// Whether this copy was left out of its group (it missed changes the
    /// group's other members have, and serves nothing until resynced).
    public var isStale: Bool { state.load(ordering: .acquiring) == Self.stale }

    /// Makes this copy its group's primary.
    public func promote() { state.store(Self.primary, ordering: .releasing) }

    /// Takes this copy out of its group's service: the group went on without it.
    public func leaveGroup() { state.store(Self.stale, ordering: .releasing) }

    /// Why this copy of `group` refuses `kind`, or nil when it takes it:
    /// a secondary takes only what a primary sends it (`notPrimary` tells a
    /// client to find the group's primary); a primary never takes a
    /// changeset or a drop of bstreams, which only a primary sends.
    func refusal(of kind: any FSOperation.Type, group: Int) -> FSError? {
        if kind == GetGroupView.self || kind == VoteForMembers.self { return nil }
        if isStale {
            return FSError(.notPrimary, "this copy of group \(group) was left out of the group while it was away: \(kind.name) goes to the group's primary")
        }
        let fromPrimary = kind is any SentByPrimary.Type
        if isPrimary {
            guard kind == ApplyChanges.self || kind == DropBstreams.self else { return nil }
            return FSError(.notPermitted, "group \(group)'s primary takes no \(kind.name): only a secondary applies its primary's changes")
        }
        guard fromPrimary else {
            return FSError(.notPrimary, "this copy of group \(group) is a secondary: \(kind.name) goes to the group's primary")
        }
        return nil
    }
}

/// An operation a primary sends to its group's secondaries (its own
/// changes, or a client's data write passed on), which a secondary carries
/// out on its copy.
protocol SentByPrimary: FSOperation {}

extension ApplyChanges: SentByPrimary {}
extension DropBstreams: SentByPrimary {}
extension WriteData: SentByPrimary {}
extension TruncateDatafile: SentByPrimary {}
extension SyncDatafiles: SentByPrimary {}
