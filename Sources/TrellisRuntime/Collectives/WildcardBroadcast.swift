import NIOCore
import TrellisCore

/// A broadcast posted before anyone knows its root (§7 of the
/// persistent-services paper, Latham, Ross and Thakur, "Can MPI Be Used for
/// Persistent Parallel Services?"): every member posts it; later, whichever
/// member has the data calls `supply` and becomes the root. The others learn
/// the data and the root's rank.
///
/// Semantics:
/// - All members post wildcard broadcasts (and other collectives) on a
///   communicator in the same order, as with any collective; each matches
///   the same-numbered one at the other members.
/// - Exactly one member supplies. A member that tries to supply after the
///   data of another root reached it gets `collectiveMismatch` and keeps
///   that data; two members supplying at the same moment is an error of the
///   program, as two roots of one MPI_Bcast are.
/// - The data travels a binomial tree rooted at the supplier; each member
///   forwards it to its children in that tree before its request completes.
/// - A posted wildcard broadcast can be cancelled (until data arrives), and
///   fails like any collective when a member of the communicator dies.
///
/// ```swift
/// let next = try servers.iwildcardBroadcast()       // every server, in advance
/// // ... the server that got a client's request:
/// try next.supply(request)
/// // ... everyone:
/// let (operation, root) = try next.request.wait()
/// ```
public final class WildcardBroadcast: Sendable {
    /// Completes at every member, the supplier included, with the data and the rank
    /// of the member that supplied it, once this member has passed the data on.
    public let request: Request<(payload: ByteBuffer, root: Int)>
    private let communicator: Communicator
    private let receive: RequestCore
    private let tag: Int

    init(communicator: Communicator, request: Request<(payload: ByteBuffer, root: Int)>, receive: RequestCore, tag: Int) {
        self.communicator = communicator
        self.request = request
        self.receive = receive
        self.tag = tag
    }

    /// Makes this member the root and sends `payload` to all.
    public func supply(_ payload: ByteBuffer) throws {
        let engine = communicator.engine
        try engine.lock.withLock {
            guard !receive.isDone, let withdraw = receive.cancelHandler, withdraw() else {
                throw TrellisError(.collectiveMismatch, "another member already became the root of this wildcard broadcast on \(communicator)")
            }
            receive.continuation = nil
            receive.fail(TrellisError(.cancelled, "this member became the root"))
            var framed = ByteBufferAllocator().buffer(capacity: 4 + payload.readableBytes)
            framed.writeInteger(UInt32(communicator.rank), endianness: .little)
            framed.writeImmutableBuffer(payload)
            communicator.forwardWildcard(framed, root: communicator.rank, tag: tag, completing: request.requestCore, with: payload)
        }
    }
}

extension Communicator {
    /// Posts a wildcard broadcast on this communicator, to be matched by the
    /// same-numbered one at every other member; throws `notSupported` on an intercommunicator.
    public func iwildcardBroadcast() throws -> WildcardBroadcast {
        try requireIntracommunicator("wildcard broadcast")
        let core = RequestCore(engine: engine, label: .collective("wildcard broadcast", context))
        let receive = RequestCore(engine: engine, label: .other("wildcard broadcast receive"))
        let tag = try engine.lock.withLock {
            try checkCollectiveUsable()
            let tag = nextCollectiveTag()
            receive.continuation = { [self] result in
                switch result {
                case .success(.message(let message)):
                    let framed = message.payload
                    guard let root = framed.getInteger(at: framed.readerIndex, endianness: .little, as: UInt32.self), Int(root) < size else {
                        core.fail(TrellisError(.protocolViolation, "malformed wildcard broadcast from rank \(message.source)"))
                        return
                    }
                    let data = framed.getSlice(at: framed.readerIndex + 4, length: framed.readableBytes - 4)!
                    forwardWildcard(message.payload, root: Int(root), tag: tag, completing: core, with: data)
                case .success(let other):
                    core.fail(TrellisError(.protocolViolation, "wildcard broadcast received \(other)"))
                case .failure(let error):
                    core.fail(error)
                }
            }
            engine.postReceive(space: collectiveSpace, source: -1, tag: tag, sourceProcess: nil, request: receive)
            core.cancelHandler = { [receive] in
                guard let withdraw = receive.cancelHandler, withdraw() else { return false }
                receive.continuation = nil
                return true
            }
            return tag
        }
        let request = Request<(payload: ByteBuffer, root: Int)>(core: core) { output in
            guard case .message(let message) = output else { preconditionFailure("wildcard broadcast produced \(output)") }
            return (message.payload, message.source)
        }
        return WildcardBroadcast(communicator: self, request: request, receive: receive, tag: tag)
    }

    /// Sends the framed data on to this member's children in the tree rooted
    /// at `root`, then completes `core`. Engine lock held.
    func forwardWildcard(_ framed: ByteBuffer, root: Int, tag: Int, completing core: RequestCore, with data: ByteBuffer) {
        let children = BinomialTree(rank: rank, size: size, root: root).children
        var remaining = children.count
        let finish = { core.succeed(.message(Message(payload: data, source: root, tag: 0))) }
        if remaining == 0 {
            finish()
            return
        }
        for child in children {
            let send = RequestCore(engine: engine, label: .other("wildcard broadcast to rank \(child.rank)"))
            send.continuation = { result in
                if case .failure(let error) = result { core.fail(error) }
                remaining -= 1
                if remaining == 0 { finish() }
            }
            engine.postSend(
                framed, to: process(ofRank: child.rank),
                envelope: Envelope(space: collectiveSpace, sourceRank: rank, tag: tag), request: send)
        }
    }
}
