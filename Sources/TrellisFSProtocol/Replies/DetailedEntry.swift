/// One entry of a listing with its object's attributes.
public struct DetailedEntry: Sendable, Hashable, WireRecord {
    /// The entry's name.
    public var name: String
    /// The attributes of the object it names.
    public var attributes: ObjectAttributes

    /// An entry with its object's attributes.
    public init(name: String, attributes: ObjectAttributes) {
        self.name = name
        self.attributes = attributes
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.name, \.attributes, make: Self.init)
}
