/// Asks a file's owner for a capability to read and / or write its
/// datafiles: the owner checks the caller's permission on the file (as
/// open(2) does) and signs what it allows (`Capability`), and answers with
/// the file's attributes too (a read needs its current size). A file
/// system without a key checks no capabilities; its servers sign none.
public struct OpenObject: FSOperation {
    /// Code 52 on the wire, answered with `OpenedObject`; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, OpenedObject>(code: 52, idempotent: true, commits: false, \.file, \.rights, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var file: ObjectHandle, rights: Capability.Rights
    /// The request as a client sends it.
    public init(_ file: ObjectHandle, rights: Capability.Rights) { (self.file, self.rights) = (file, rights) }
}
