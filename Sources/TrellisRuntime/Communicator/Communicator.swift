import NIOCore
import TrellisCore

/// A group of processes with a private communication context: MPI's
/// intracommunicator. Ranks are 0..<size.
///
/// ```swift
/// let runtime = try Runtime.initialize()
/// let world = runtime.world
/// if world.rank == 0 { try world.send(ByteBuffer(string: "hello"), to: 1) }
/// if world.rank == 1 { print(try world.receive(from: 0).payload) }
/// ```
public final class Communicator: @unchecked Sendable, CustomStringConvertible {
    let engine: ProgressEngine
    public let context: ContextID
    public let group: Group
    public let rank: Int
    /// Counts collectives started here; all members start them in the same
    /// order, so the count tells concurrent collectives apart. Engine lock.
    private var collectiveSequence: UInt32 = 0
    /// Engine lock.
    private(set) var isFreed = false

    init(engine: ProgressEngine, context: ContextID, group: Group, rank: Int) {
        self.engine = engine
        self.context = context
        self.group = group
        self.rank = rank
    }

    public var size: Int { group.size }

    public var description: String { "Communicator(\(context), rank \(rank) of \(size))" }

    var pointToPointSpace: MatchSpace { MatchSpace(context: context, collective: false) }
    var collectiveSpace: MatchSpace { MatchSpace(context: context, collective: true) }

    func process(ofRank rank: Int) -> ProcessID { group.members[rank] }

    /// The tag of the next collective. Engine lock held.
    func nextCollectiveTag() -> Int {
        collectiveSequence &+= 1
        return Int(collectiveSequence & 0x7FFF_FFFF)
    }

    func checkUsable() throws {
        if isFreed { throw TrellisError(.communicatorFreed, "\(self) has been freed") }
    }

    func checkRank(_ value: Int, role: String) throws {
        guard (0..<size).contains(value) else {
            throw TrellisError(.invalidRank, "\(role) rank \(value) is outside 0..<\(size) of \(self)")
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
        }
    }
}

extension ProgressEngine {
    /// Drops everything queued for a context and discards what arrives for it later. Lock held.
    func releaseContext(_ context: ContextID) {
        freedContexts.insert(context)
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
