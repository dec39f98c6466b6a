import NIOCore

/// A received message: its bytes and where it came from. Only the runtime
/// makes these (with the memberwise initializer), as MPI makes a status.
public struct Message: Sendable {
    /// The message's bytes.
    public var payload: ByteBuffer
    /// Rank of the sender in the communicator the message was received on.
    public var source: Int
    /// The tag the sender gave the message.
    public var tag: Int

    /// The payload decoded as values of `T`.
    public func values<T: WireScalar>(of type: T.Type = T.self) throws -> [T] {
        try payload.wireValues(of: type)
    }
}

/// What a probe learns about a message that has not been received yet.
public struct MessageStatus: Sendable, Equatable {
    /// Rank of the sender in the communicator that was probed.
    public var source: Int
    /// The tag the sender gave the message.
    public var tag: Int
    /// The payload's length in bytes, for sizing a buffer before receiving it.
    public var byteCount: Int
}

import TrellisCore
