/// Identifies a communication context. Context ids are never reused within
/// the life of a job or across jobs: `owner` is the unique id of the process
/// that allocated it and `serial` a counter that only grows in that process.
/// So a late message from a freed communicator, or from a dead client,
/// can never match a communicator created afterwards.
public struct ContextID: Hashable, Sendable, CustomStringConvertible {
    /// The `ProcessID` number of the process that allocated the context.
    public let owner: UInt64
    /// The allocating process's counter value for this context.
    public let serial: UInt64

    /// Names context number `serial` of the process whose id number is `owner`.
    public init(owner: UInt64, serial: UInt64) {
        self.owner = owner
        self.serial = serial
    }

    /// Such as `"ctx-3fa1c2-4"`: the owner in hexadecimal, then the serial.
    public var description: String {
        "ctx-\(String(owner, radix: 16))-\(serial)"
    }
}
