import Synchronization
import TrellisFSProtocol

/// What a copy of a replica group does now: the primary answers clients
/// and sends every change to the secondaries; a secondary takes only what
/// its primary sends. A secondary becomes primary when its group fails over.
public final class ReplicaRole: Sendable {
    private let primary: Atomic<Bool>

    /// A copy that starts as its group's primary, or as a secondary.
    public init(primary: Bool) { self.primary = Atomic(primary) }

    /// Whether this copy is its group's primary.
    public var isPrimary: Bool { primary.load(ordering: .acquiring) }

    /// Makes this copy its group's primary.
    public func promote() { primary.store(true, ordering: .releasing) }

    /// Why this copy of `group` refuses `kind`, or nil when it takes it:
    /// a secondary takes only what a primary sends it (`notPrimary` tells a
    /// client to find the group's primary); a primary never takes a
    /// changeset or a drop of bstreams, which only a primary sends.
    func refusal(of kind: any FSOperation.Type, group: Int) -> FSError? {
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
