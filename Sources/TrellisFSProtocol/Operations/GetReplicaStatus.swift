/// Asks one copy of a replica group how it stands: its role and epoch and,
/// from the primary, the state of each member (`trellis fs replicas`).
public struct GetReplicaStatus: FSOperation {
    /// Code 51 on the wire, answered with ``CopyStatus``; resent after a lost connection (it only reads).
    public static let form = OperationForm<Self, CopyStatus>(code: 51, idempotent: true, commits: false, \.group, make: Self.init)
    /// The replica group asked about.
    public var group: UInt32
    /// The request as `trellis fs replicas` sends it.
    public init(group: UInt32) { self.group = group }
}
