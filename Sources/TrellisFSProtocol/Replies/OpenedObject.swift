/// What a file's owner answers an `OpenObject` with: the file's attributes
/// as they are now (so a client that opens a file to read it needs no
/// `Stat` besides) and the capability it signed, none on a file system
/// without a key.
public struct OpenedObject: Sendable, Hashable, WireRecord {
    /// The file's attributes at the open.
    public var attributes: ObjectAttributes
    /// What the caller may do to the file's datafiles, signed.
    public var capability: Capability?

    /// The outcome of an open.
    public init(attributes: ObjectAttributes, capability: Capability?) {
        self.attributes = attributes
        self.capability = capability
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.attributes, \.capability, make: Self.init)
}
