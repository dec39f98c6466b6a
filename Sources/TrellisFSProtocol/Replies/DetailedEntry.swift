/// One entry of a listing with its object's attributes.
public struct DetailedEntry: Sendable, Hashable, WireRecord {
    public var name: String
    public var attributes: ObjectAttributes

    public init(name: String, attributes: ObjectAttributes) {
        self.name = name
        self.attributes = attributes
    }

    public static let wireForm = WireForm<Self>(\.name, \.attributes, make: Self.init)
}
