/// Tells a copy that its group's primary starts sending what it missed:
/// from now on it takes the primary's changes, and it serves no client
/// until the group takes it back. A full resync first removes every bstream
/// the copy holds (its rows go when the primary's snapshot arrives).
public struct BeginResync: FSOperation {
    /// Code 48 on the wire, answered with ``Done``; resent after a lost connection (starting again leaves the same state); changes no metadata.
    public static let form = OperationForm<Self, Done>(code: 48, idempotent: true, commits: false, \.group, \.epoch, \.full, make: Self.init)
    /// The replica group.
    public var group: UInt32
    /// The epoch of the group as the primary sending it knows it.
    public var epoch: UInt64
    /// Whether everything is sent (the copy's own state counts for nothing).
    public var full: Bool
    /// The request as a primary sends it.
    public init(group: UInt32, epoch: UInt64, full: Bool) { (self.group, self.epoch, self.full) = (group, epoch, full) }
}
