/// What a frame carries. The numbers are part of the wire protocol.
public enum FrameKind: UInt8, Sendable, CaseIterable {
    /// The opener's answer to `challenge`: who is calling (`exchange`), and
    /// in its payload its nonce, then its proof of the cluster key when it
    /// was asked for one.
    case hello = 1
    /// Answer to `hello`: whether this connection is kept (tag 1) or dropped
    /// in favour of the one the answering side opened at the same time (tag
    /// 0), refused as behind this side's count (tag 2, `aux` = the count) or
    /// for a hello that proved no key (tag 3); its payload is the
    /// acceptor's proof of the key when one is used.
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
    /// Runtime housekeeping between progress engines (connecting to ports,
    /// failure notices, revocation); `tag` holds a `ControlOperation`.
    case control = 8
    /// One-sided access to a window (frame context = the window's context);
    /// `tag` holds a `OneSidedOperation`.
    case oneSided = 9
    /// First frame on an accepted connection, from the acceptor (`exchange`
    /// = its process id): its nonce (payload), and whether the opener must
    /// prove it holds the cluster key (`aux` = 1).
    case challenge = 10
    /// The opener of a connection between two processes of one host offers
    /// a shared-memory lane: its payload is the opener's pid and memory-file
    /// descriptor (two 32-bit integers), the ring size (64-bit) and a
    /// 16-byte cookie, little-endian.
    case laneOffer = 11
    /// The acceptor's answer: tag 1, it mapped the lane, and every frame it
    /// sends after this one goes through the lane; tag 0, it stays on the socket.
    case laneAccept = 12
    /// The opener's last frame on the socket: every frame after it goes
    /// through the lane. After it only one-byte wake-ups come on the socket.
    case laneSwitch = 13
}

/// What a `oneSided` frame asks for or answers. `exchange` is always the
/// origin's operation id, echoed in the answer. The numbers are part of the
/// wire protocol.
public enum OneSidedOperation: Int32, Sendable, CaseIterable {
    /// Asks for the target's window lock (`aux` = 1 exclusive, 0 shared).
    case lockRequest = 1
    /// The lock is the origin's.
    case lockGranted = 2
    /// Gives the lock back; answered with `done`.
    case unlock = 3
    /// Writes bytes (`aux` = segment; payload = regions, then data).
    case put = 4
    /// Reads bytes (`aux` = segment; payload = regions); answered with the data.
    case get = 5
    /// Combines values into the target's (`aux` = segment; payload = regions,
    /// operation, then data); answered with the prior contents when asked.
    case accumulate = 6
    /// The operation took effect; payload = data it returns, if any.
    case done = 7
    /// The operation was refused; payload = the reason, UTF-8.
    case refused = 8
}

/// What a `control` frame asks for. The numbers are part of the wire protocol.
public enum ControlOperation: Int32, Sendable, CaseIterable {
    /// A client asks to connect to an open port (`aux` = port id, `exchange` =
    /// the client's attempt id, payload = the client group).
    case connectRequest = 1
    /// The accepting side offers an intercommunicator (`exchange` = attempt id,
    /// `aux` = the server's offer id, payload = server group and context).
    case connectOffer = 2
    /// The client takes the offer (`aux` = 1) or has given up (`aux` = 0).
    case connectAnswer = 3
    /// The port is not open (`exchange` = attempt id, payload = reason).
    case connectRefused = 4
    /// A process was found dead (`aux` = its id); sent to the processes that
    /// share a communicator with it, so their collectives fail instead of hang.
    case failureNotice = 5
    /// A communicator was revoked (frame context); pending and future
    /// operations on it fail everywhere.
    case revoke = 6
    /// Fault-tolerant agreement (frame context, `exchange` = agreement number):
    /// a member's flag and the failures it knows, sent to the coordinator.
    case agreementProposal = 7
    /// The coordinator's decision: flag, failed processes, new context.
    case agreementDecision = 8
}

/// Bits of `FrameHeader.flags`.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    /// The flag bits as sent on the wire.
    public let rawValue: UInt16
    /// Makes a set from its wire bits; unknown bits are kept.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The frame belongs to a collective operation, which matches in a space
    /// of its own so that it can never be taken by a point-to-point receive.
    public static let collective = FrameFlags(rawValue: 1 << 0)
    /// On a hello or its acknowledgement: the sender seals the frames of
    /// this connection, so the other side must too.
    public static let sealed = FrameFlags(rawValue: 1 << 1)
}
