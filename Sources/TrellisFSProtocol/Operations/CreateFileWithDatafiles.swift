import TrellisFSDistribution

/// A file whose datafiles the client made itself (PVFS2's create without server
/// help): the metadata and the entry in one step.
public struct CreateFileWithDatafiles: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(
        code: 27, idempotent: false, commits: true, \.parent, \.name, \.mode, \.distribution, \.datafiles,
        make: { try Self(parent: $0, name: $1, mode: $2, distribution: $3, datafiles: $4.checkDatafileCount()) })
    public var parent: ObjectHandle, name: String, mode: UInt32, distribution: Distribution, datafiles: [ObjectHandle]
    public init(parent: ObjectHandle, name: String, mode: UInt32, distribution: Distribution, datafiles: [ObjectHandle]) {
        (self.parent, self.name, self.mode, self.distribution, self.datafiles) = (parent, name, mode, distribution, datafiles)
    }
}
