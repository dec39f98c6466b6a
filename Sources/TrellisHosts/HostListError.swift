/// A host list, nodeset or hostfile that cannot be read, with the reason.
public struct HostListError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}
