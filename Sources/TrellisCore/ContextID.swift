/// Identifies a communication context. Context ids are never reused within
/// the life of a job or across jobs: `owner` is the unique id of the process
/// that allocated it and `serial` a counter that only grows in that process.
/// So a late message from a freed communicator, or from a dead client,
/// can never match a communicator created afterwards.
public struct ContextID: Hashable, Sendable, CustomStringConvertible {
    public let owner: UInt64
    public let serial: UInt64

    public init(owner: UInt64, serial: UInt64) {
        self.owner = owner
        self.serial = serial
    }

    public var description: String {
        "ctx-\(String(owner, radix: 16))-\(serial)"
    }
}
