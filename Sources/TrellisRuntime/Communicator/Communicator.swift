import NIOCore
import TrellisCore

/// A group of processes with a private communication context: MPI's
/// intracommunicator, ranks 0..<size. An intercommunicator (from connect,
/// accept, join or spawn) joins two groups: point-to-point ranks then name
/// processes of the remote group, and `merge` makes an intracommunicator of both.
///
/// ```swift
/// let runtime = try Runtime.initialize()
/// let world = runtime.world
/// if world.rank == 0 { try world.send(ByteBuffer(string: "hello"), to: 1) }
/// if world.rank == 1 { print(try world.receive(from: 0).payload) }
/// ```
public final class Communicator: @unchecked Sendable, CustomStringConvertible {
    let engine: ProgressEngine
    /// The communication context that keeps this communicator's messages apart
    /// from every other's; never reused, even after `free()`.
    public let context: ContextID
    /// The processes of this communicator, in rank order; for an intercommunicator, the local group.
    public let group: Group
    /// This process's position in `group`, 0 ..< `size`.
    public let rank: Int
    /// The other side of an intercommunicator; nil for an intracommunicator.
    public let remoteGroup: Group?
    /// An intercommunicator's private context among its local group (merge, disconnect).
    let localContext: ContextID?
    /// Counts collectives started here; all members start them in the same
    /// order, so the count tells concurrent collectives apart. Engine lock.
    private var collectiveSequence: UInt32 = 0
    /// Counts agreements (agree, shrink) here, in the same way. Engine lock.
    var agreementSequence: UInt64 = 0
    /// An intercommunicator's local side, made on first use. Engine lock.
    var localSideCache: Communicator?
    /// What the engine knows of this communicator's failures and revocation
    /// (shared with the engine, which updates it). Engine lock.
    let record: CommunicatorRecord
    /// Engine lock.
    private(set) var isFreed = false

    /// Makes a communicator and registers it with the engine, which fails
    /// its operations when a member dies. `lockHeld` when the engine lock is.
    init(
        engine: ProgressEngine, context: ContextID, group: Group, rank: Int, remoteGroup: Group? = nil,
        localContext: ContextID? = nil, lockHeld: Bool = false
    ) {
        self.engine = engine
        self.context = context
        self.group = group
        self.rank = rank
        self.remoteGroup = remoteGroup
        self.localContext = localContext
        record = CommunicatorRecord(group: group, remoteGroup: remoteGroup)
        if lockHeld {
            engine.register(record, for: context)
        } else {
            engine.lock.withLock { engine.register(record, for: context) }
        }
    }

    /// The number of processes in `group` (the local group of an intercommunicator), as MPI_Comm_size.
    public var size: Int { group.size }
    /// Size of the remote group of an intercommunicator; 0 for an intracommunicator.
    public var remoteSize: Int { remoteGroup?.size ?? 0 }
    /// Whether this communicator joins two groups (from connect, accept, join or spawn).
    public var isIntercommunicator: Bool { remoteGroup != nil }

    /// The context, this process's rank and the size, for messages and logs.
    public var description: String {
        if let remoteGroup { return "Intercommunicator(\(context), rank \(rank) of \(size), remote size \(remoteGroup.size))" }
        return "Communicator(\(context), rank \(rank) of \(size))"
    }

    var pointToPointSpace: MatchSpace { MatchSpace(context: context, collective: false) }
    var collectiveSpace: MatchSpace { MatchSpace(context: context, collective: true) }

    /// The process that point-to-point rank `rank` names: in the remote group
    /// of an intercommunicator, else in this group.
    func process(ofRank rank: Int) -> ProcessID { (remoteGroup ?? group).members[rank] }

    /// The host the connection with `rank` (of the remote group, on an
    /// intercommunicator) goes to, as the socket has it rather than as the
    /// peer says: what a server goes by when it trusts some hosts more than
    /// others (root squash). Nil while no connection is open, and for this process itself.
    public func connectedHost(ofRank rank: Int) -> String? {
        guard (remoteGroup ?? group).members.indices.contains(rank) else { return nil }
        return engine.connectedHost(of: process(ofRank: rank))
    }

    /// The tag of the next collective. Engine lock held.
    func nextCollectiveTag() -> Int {
        collectiveSequence &+= 1
        return Int(collectiveSequence & 0x7FFF_FFFF)
    }

    /// Engine lock held.
    func checkUsable() throws {
        if isFreed { throw TrellisError(.communicatorFreed, "\(self) has been freed") }
        if let revoked = record.revoked { throw revoked }
    }

    /// Before a collective: a communicator that lost a member fails every
    /// collective at once, on every survivor, instead of hanging. Engine lock held.
    func checkCollectiveUsable() throws {
        try checkUsable()
        if let failure = record.failedMembers.values.first {
            throw TrellisError(.peerFailed, "\(self) lost \(record.failedMembers.count) member(s): \(failure.message); shrink it to go on", underlying: failure)
        }
    }

    func requireIntracommunicator(_ operation: String) throws {
        if remoteGroup != nil {
            throw TrellisError(.notSupported, "\(operation) is not available on an intercommunicator; merge it first")
        }
    }

    func checkRank(_ value: Int, role: String) throws {
        let count = (remoteGroup ?? group).size
        guard (0..<count).contains(value) else {
            throw TrellisError(.invalidRank, "\(role) rank \(value) is outside 0..<\(count) of \(self)")
        }
    }

    /// Releases the communicator: its pending receives fail, its queued
    /// messages are dropped, and messages that still arrive for it are
    /// discarded. Its context id is never used again.
    public func free() {
        engine.lock.withLock {
            guard !isFreed else { return }
            isFreed = true
            engine.releaseContext(context)
            if let localContext { engine.releaseContext(localContext) }
            localSideCache?.isFreed = true
        }
    }
}

extension ProgressEngine {
    /// Drops everything queued for a context and discards what arrives for it later. Lock held.
    func releaseContext(_ context: ContextID) {
        freedContexts.insert(context)
        communicators[context] = nil
        revokedContexts.remove(context)
        agreements.forget(context)
        for collective in [false, true] {
            let removed = matching.removeAll(in: MatchSpace(context: context, collective: collective))
            for entry in removed.posted {
                entry.value.request.fail(TrellisError(.communicatorFreed, "the communicator \(context) was freed"))
            }
            for entry in removed.unexpected {
                if case .eager(let buffer) = entry.value { unexpectedBytes -= buffer.readableBytes }
            }
        }
    }
}
