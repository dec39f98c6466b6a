import TrellisFSDistribution

/// A new file in `parent` (on the parent's server), striped by `distribution`
/// or the directory's default. Stuffed, only its first datafile is made, with
/// the metadata, until it grows past one strip; otherwise the parent's server
/// makes the rest on their servers (from its pool, or through one fan-out)
/// before it answers.
public struct CreateFile: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(
        code: 5, idempotent: false, commits: true, \.parent, \.name, \.mode, \.distribution, \.stuffed, make: Self.init)
    public var parent: ObjectHandle, name: String, mode: UInt32, distribution: Distribution?, stuffed: Bool
    public init(parent: ObjectHandle, name: String, mode: UInt32, distribution: Distribution?, stuffed: Bool) {
        (self.parent, self.name, self.mode, self.distribution, self.stuffed) = (parent, name, mode, distribution, stuffed)
    }
}
