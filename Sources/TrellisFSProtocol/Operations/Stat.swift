/// Attributes with the file's size, which the owner gathers from the data
/// servers itself: one request from the client (Fig. 3 of the
/// persistent-services paper, Latham, Ross and Thakur, "Can MPI Be Used for
/// Persistent Parallel Services?").
public struct Stat: FSOperation {
    public static let form = OperationForm<Self, ObjectAttributes>(code: 29, idempotent: true, commits: false, \.handle, make: Self.init)
    public var handle: ObjectHandle
    public init(_ handle: ObjectHandle) { self.handle = handle }
}
