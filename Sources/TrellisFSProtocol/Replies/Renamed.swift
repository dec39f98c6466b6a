/// A rename's result: the links left to the object the new name replaced
/// (nil when it replaced nothing).
public struct Renamed: Sendable, Hashable, WireRecord {
    public var replacedLinksLeft: UInt32?

    public init(replacedLinksLeft: UInt32?) { self.replacedLinksLeft = replacedLinksLeft }

    public static let wireForm = WireForm<Self>(\.replacedLinksLeft, make: Self.init)
}
