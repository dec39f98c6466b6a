/// What a frame carries. The numbers are part of the wire protocol.
public enum FrameKind: UInt8, Sendable, CaseIterable {
    /// First frame on a new connection: who is calling.
    case hello = 1
    /// Answer to `hello`: whether this connection is kept (tag 1) or dropped
    /// in favour of the one the answering side opened at the same time (tag 0).
    case helloAcknowledge = 2
    /// A whole message, payload included.
    case eager = 3
    /// A large message announces itself; its payload follows a `clearToSend`.
    case readyToSend = 4
    /// The receiver posted a matching receive and names where the data goes.
    case clearToSend = 5
    /// The payload of a large message, addressed by the receiver's exchange id.
    case rendezvousData = 6
    /// The sender is finalizing: a close after this is orderly, not a failure.
    case goodbye = 7
}

/// Bits of `FrameHeader.flags`.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The frame belongs to a collective operation, which matches in a space
    /// of its own so that it can never be taken by a point-to-point receive.
    public static let collective = FrameFlags(rawValue: 1 << 0)
}
