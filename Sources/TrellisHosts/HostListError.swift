/// A host list, nodeset or hostfile that cannot be read, with the reason.
public struct HostListError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The reason, naming the text at fault (and for a hostfile, the file and line).
    public let description: String

    /// An error with the given reason.
    public init(_ description: String) { self.description = description }
}
