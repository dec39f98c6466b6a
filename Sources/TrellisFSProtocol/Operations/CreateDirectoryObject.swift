import TrellisFSDistribution

/// A directory object with no entry yet, on the server that receives it; the
/// client then adds its entry on the parent's server (PVFS2's mkdir).
public struct CreateDirectoryObject: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(code: 19, idempotent: false, commits: true, \.mode, \.distribution, make: Self.init)
    public var mode: UInt32, distribution: Distribution?
    public init(mode: UInt32, distribution: Distribution?) { (self.mode, self.distribution) = (mode, distribution) }
}
