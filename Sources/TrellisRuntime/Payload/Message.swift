import NIOCore

/// A received message: its bytes and where it came from.
public struct Message: Sendable {
    public var payload: ByteBuffer
    /// Rank of the sender in the communicator the message was received on.
    public var source: Int
    public var tag: Int

    public init(payload: ByteBuffer, source: Int, tag: Int) {
        self.payload = payload
        self.source = source
        self.tag = tag
    }

    /// The payload decoded as values of `T`.
    public func values<T: WireScalar>(of type: T.Type = T.self) throws -> [T] {
        try payload.wireValues(of: type)
    }
}

/// What a probe learns about a message that has not been received yet.
public struct MessageStatus: Sendable, Equatable {
    public var source: Int
    public var tag: Int
    public var byteCount: Int
}

import TrellisCore
