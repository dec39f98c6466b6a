/// Asks a server what it knows of a replica group's epoch and members.
public struct GetGroupView: FSOperation {
    /// Code 46 on the wire, answered with ``GroupView``; resent after a lost connection (it is idempotent); only reads.
    public static let form = OperationForm<Self, GroupView>(code: 46, idempotent: true, commits: false, \.group, make: Self.init)
    /// The replica group asked about.
    public var group: UInt32
    /// The request as a server sends it.
    public init(group: UInt32) { self.group = group }
}
