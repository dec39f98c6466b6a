/// Asks a replica group's primary to bring `member`'s copy up to date and
/// take it back into the group: sent by a copy the group went on without,
/// once it can reach the primary again.
public struct RequestResync: FSOperation {
    /// Code 47 on the wire, answered with ``Done``; resent after a lost connection (a resync already under way is not started twice); changes no metadata.
    public static let form = OperationForm<Self, Done>(code: 47, idempotent: true, commits: false, \.group, \.member, \.full, make: Self.init)
    /// The replica group.
    public var group: UInt32
    /// The server whose copy is out of date.
    public var member: UInt32
    /// Whether the copy holds nothing it can build on (its server's storage
    /// was made anew, as after a disk died): everything is sent.
    public var full: Bool
    /// The request as a copy sends it.
    public init(group: UInt32, member: UInt32, full: Bool = false) { (self.group, self.member, self.full) = (group, member, full) }
}
