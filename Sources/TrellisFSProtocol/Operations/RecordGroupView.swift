/// Tells a server the outcome of a vote: replica group `group` has
/// `members` (the primary first) from `epoch` on. The winner of a vote sends
/// it to every server, so that later votes and probes start from the
/// group's newest epoch.
public struct RecordGroupView: FSOperation {
    /// Code 50 on the wire, answered with ``GroupView``; resent after a lost connection (an epoch is recorded once); records the epoch.
    public static let form = OperationForm<Self, GroupView>(code: 50, idempotent: true, commits: false, \.group, \.epoch, \.members, make: Self.init)
    /// The replica group.
    public var group: UInt32
    /// The epoch the vote started.
    public var epoch: UInt64
    /// The group's members from then on, the primary first.
    public var members: [UInt32]
    /// The request as the winner of a vote sends it.
    public init(group: UInt32, epoch: UInt64, members: [UInt32]) { (self.group, self.epoch, self.members) = (group, epoch, members) }
}
