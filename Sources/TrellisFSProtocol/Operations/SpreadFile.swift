/// Gives a stuffed file the rest of its datafiles: those listed (made
/// beforehand by the client), or, with none listed, made by the file's server
/// itself; `exists` when it has them already.
public struct SpreadFile: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(
        code: 25, idempotent: false, commits: true, \.file, \.datafiles, make: { try Self($0, datafiles: $1.checkDatafileCount()) })
    public var file: ObjectHandle, datafiles: [ObjectHandle]
    public init(_ file: ObjectHandle, datafiles: [ObjectHandle]) { (self.file, self.datafiles) = (file, datafiles) }
}
