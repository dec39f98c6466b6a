import NIOCore
import TrellisCore

/// Where a message is addressed: communicator context, traffic space, the
/// sender's rank in that communicator, and the tag.
struct Envelope {
    var space: MatchSpace
    var sourceRank: Int
    var tag: Int
}

/// A receive waiting in the posted queue.
struct PendingReceive {
    let request: RequestCore
    /// The process a specific-source receive waits for, so its failure fails the receive.
    let sourceProcess: ProcessID?
}

/// A message waiting in the unexpected queue.
enum ArrivedMessage {
    case eager(ByteBuffer)
    /// A large message announced by a remote sender; its data moves once a receive matches.
    case remoteRendezvous(exchange: UInt64, length: Int, from: ProcessID)
    /// A large message sent to this very process: handed over without copying on match.
    case localRendezvous(ByteBuffer, sender: RequestCore)
    /// Dropped because the unexpected queue was full; the matching receive fails.
    case discarded(length: Int)
}

/// A large send waiting for its receiver's clear-to-send.
struct OutboundExchange {
    let payload: ByteBuffer
    let peer: ProcessID
    let request: RequestCore
    /// The communicator it was sent on, so that revoking it fails the send.
    let context: ContextID
}

/// A large receive whose data is on its way.
struct InboundExchange {
    let request: RequestCore
    var buffer: ByteBuffer?
    let source: Int
    let tag: Int
    let length: Int
    let peer: ProcessID
    /// The communicator it arrives on: revoking it fails the receive, since
    /// the sender's side of the exchange fails too and its data never comes.
    let context: ContextID
}
