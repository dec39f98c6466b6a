import NIOCore
import TrellisCore
import TrellisWire

/// Memory that the other members of a communicator read and write without
/// its owner taking part: MPI's RMA window, passive target first.
///
/// ```swift
/// let window = try world.createWindow(byteCount: 4096)
/// try window.lock(.exclusive, rank: 1)
/// try window.put(ByteBuffer(string: "hello"), to: 1, offset: 0)
/// let back = try window.get(byteCount: 5, from: 1, offset: 0)
/// try window.unlock(rank: 1)                 // both have taken effect
/// print(String(buffer: try back.wait()))
/// ```
/// A window's memory is in segments: segment 0 is the memory it was created
/// with; `attach` adds more at any time (MPI's dynamic window) and `detach`
/// removes them. An access to a detached segment, past a segment's end, or to
/// a freed window is refused with `accessRefused`; a dead target fails the
/// operations towards it with `peerFailed`, unlock and flush included; a dead
/// origin's locks are given back so nobody waits behind it.
public final class Window: @unchecked Sendable, CustomStringConvertible {
    /// How `lock` holds a target's lock, as MPI_LOCK_SHARED and MPI_LOCK_EXCLUSIVE:
    /// shared locks are held together, an exclusive one alone.
    public enum LockMode: Sendable { case shared, exclusive }

    /// The window's own communicator (a duplicate of the one it was made on).
    public let communicator: Communicator
    let access = WindowAccess()
    private var engine: ProgressEngine { communicator.engine }

    init(communicator: Communicator) { self.communicator = communicator }

    /// This process's rank in the window's communicator.
    public var rank: Int { communicator.rank }
    /// The number of processes that share the window.
    public var size: Int { communicator.size }
    /// The window's context, this process's rank and the size, for messages and logs.
    public var description: String { "Window(\(communicator.context), rank \(rank) of \(size))" }

    // MARK: Local memory

    /// Exposes `byteCount` more zeroed bytes; returns the segment id that
    /// others name in their accesses (tell them by a message).
    public func attach(byteCount: Int) throws -> UInt64 {
        guard byteCount >= 0 else { throw TrellisError(.invalidArgument, "cannot attach \(byteCount) bytes") }
        return try engine.lock.withLock {
            let window = try targetWindow()
            let id = window.nextSegment
            window.nextSegment += 1
            window.segments[id] = WindowSegment(byteCount: byteCount)
            return id
        }
    }

    /// Withdraws a segment; accesses that arrive later are refused.
    public func detach(_ segment: UInt64) throws {
        try engine.lock.withLock {
            guard try targetWindow().segments.removeValue(forKey: segment) != nil else {
                throw TrellisError(.invalidArgument, "segment \(segment) is not attached to \(self)")
            }
        }
    }

    /// Runs `body` on this process's own segment, with remote accesses held
    /// off meanwhile (it runs under the progress engine's lock: keep it short).
    public func withLocalMemory<R>(segment: UInt64 = 0, _ body: (UnsafeMutableRawBufferPointer) throws -> R) throws -> R {
        try engine.lock.withLock { try body(try targetWindow().segment(segment).bytes) }
    }

    private func targetWindow() throws -> TargetWindow {
        guard !access.isFreed, let window = engine.oneSided.windows[communicator.context] else {
            throw TrellisError(.communicatorFreed, "\(self) has been freed")
        }
        return window
    }

    // MARK: Synchronization

    /// Asks for `rank`'s lock; completes once it is held. Shared locks are
    /// held together, an exclusive one alone; requests are served in order.
    public func ilock(_ mode: LockMode = .shared, rank target: Int) throws -> Request<Void> {
        try engine.lock.withLock {
            try checkTarget(target)
            guard access.locks[target] == nil, !access.requestedLocks.contains(target) else {
                throw TrellisError(.invalidArgument, "\(self) already holds or awaits rank \(target)'s lock")
            }
            guard !access.fenceOpen else { throw TrellisError(.invalidArgument, "\(self) is in a fence epoch; locks and fences do not mix") }
            let core = RequestCore(engine: engine, label: .oneSided(.lockRequest, rank: target))
            access.requestedLocks.insert(target)
            core.continuation = { [access] result in
                access.requestedLocks.remove(target)
                if case .success = result { access.locks[target] = mode }
            }
            start(.lockRequest, target: target, aux: mode == .exclusive ? 1 : 0, core: core)
            return Request(core: core)
        }
    }

    /// Blocks until `rank`'s lock is held, as MPI_Win_lock. When `deadline` passes
    /// first, the lock request is cancelled and `timedOut` thrown.
    public func lock(_ mode: LockMode = .shared, rank target: Int, deadline: Deadline? = nil) throws {
        let request = try ilock(mode, rank: target)
        do {
            try request.wait(deadline: deadline)
        } catch let error as TrellisError where error.code == .timedOut {
            request.cancel()
            throw error
        }
    }

    /// Gives `rank`'s lock back once every operation to it has taken effect;
    /// fails with the first error of those operations, or when the target died.
    public func iunlock(rank target: Int) throws -> Request<Void> {
        try engine.lock.withLock {
            try checkTarget(target)
            guard access.locks.removeValue(forKey: target) != nil else {
                throw TrellisError(.invalidArgument, "\(self) does not hold rank \(target)'s lock")
            }
            let core = RequestCore(engine: engine, label: .oneSided(.unlock, rank: target))
            start(.unlock, target: target, core: core)
            return Request(core: core)
        }
    }

    /// Blocking `iunlock`, as MPI_Win_unlock: returns once every operation to
    /// `rank` has taken effect and its lock is given back.
    public func unlock(rank target: Int, deadline: Deadline? = nil) throws {
        try iunlock(rank: target).wait(deadline: deadline)
    }

    /// Completes once every operation to `rank` (to every rank when nil) has
    /// taken effect; fails with the first error among them.
    public func iflush(rank target: Int? = nil) throws -> Request<Void> {
        try engine.lock.withLock {
            if let target { try checkTarget(target) }
            let core = RequestCore(engine: engine, label: .other("flush of \(self)"))
            engine.whenTrue(core, { [access] in !access.isOutstanding(to: target) }) { [access] in
                if let failure = access.takeFailure(for: target) { core.fail(failure) }
            }
            return Request(core: core)
        }
    }

    /// Blocking `iflush`, as MPI_Win_flush, or MPI_Win_flush_all when `rank` is nil.
    public func flush(rank target: Int? = nil, deadline: Deadline? = nil) throws {
        try iflush(rank: target).wait(deadline: deadline)
    }

    /// Active-target synchronization: completes this process's operations,
    /// then waits for every member (a barrier). After the first fence every
    /// rank may be accessed until the window is freed.
    public func fence(deadline: Deadline? = nil) throws {
        try engine.lock.withLock {
            guard access.locks.isEmpty else { throw TrellisError(.invalidArgument, "\(self) holds locks; unlock before a fence") }
        }
        try flush(deadline: deadline)
        try communicator.barrier(deadline: deadline)
        engine.lock.withLock { access.fenceOpen = true }
    }

    // MARK: Access

    /// Writes `data` into `rank`'s segment at `offset`, or scattered over
    /// `layout` placed at `offset` (its byte count must match the data's).
    @discardableResult
    public func put(_ data: ByteBuffer, to target: Int, segment: UInt64 = 0, offset: Int, layout: Datatype? = nil) throws -> Request<Void> {
        let regions = try targetRegions(offset: offset, layout: layout, byteCount: data.readableBytes)
        let payload = OneSidedAccess(regions: regions, combine: nil, data: data).encoded()
        return try startAccess(.put, target: target, segment: segment, payload: payload) { _ in () }
    }

    /// Reads `byteCount` bytes at `offset` of `rank`'s segment, or the bytes
    /// of `layout` placed at `offset`, packed in order.
    public func get(byteCount: Int? = nil, from target: Int, segment: UInt64 = 0, offset: Int, layout: Datatype? = nil) throws -> Request<ByteBuffer> {
        guard byteCount != nil || layout != nil else { throw TrellisError(.invalidArgument, "get needs a byte count or a layout") }
        let regions = try targetRegions(offset: offset, layout: layout, byteCount: byteCount ?? layout!.byteCount)
        let payload = OneSidedAccess(regions: regions, combine: nil, data: ByteBuffer()).encoded()
        return try startAccess(.get, target: target, segment: segment, payload: payload) { output in
            guard case .buffer(let data) = output else { throw TrellisError(.protocolViolation, "get produced \(output)") }
            return data
        }
    }

    /// Combines `values` element-wise into `rank`'s segment at `offset`
    /// (atomically with respect to other accumulates there).
    @discardableResult
    public func accumulate<T: AccumulateElement>(_ values: [T], _ operation: AccumulateOperation, to target: Int, segment: UInt64 = 0, offset: Int) throws -> Request<Void> {
        try startAccumulate(values, operation, fetch: false, target: target, segment: segment, offset: offset) { _ in () }
    }

    /// The same, returning the values that were there before (fetch-and-op,
    /// MPI_Get_accumulate): `.sum` of `[1]` is an atomic counter.
    public func fetchAndAccumulate<T: AccumulateElement>(_ values: [T], _ operation: AccumulateOperation, to target: Int, segment: UInt64 = 0, offset: Int) throws -> Request<[T]> {
        try startAccumulate(values, operation, fetch: true, target: target, segment: segment, offset: offset) { output in
            guard case .buffer(let data) = output else { throw TrellisError(.protocolViolation, "fetch-and-accumulate produced \(output)") }
            return try data.wireValues(of: T.self)
        }
    }

    private func startAccumulate<T: AccumulateElement, Value>(
        _ values: [T], _ operation: AccumulateOperation, fetch: Bool, target: Int, segment: UInt64, offset: Int,
        transform: @escaping @Sendable (RequestOutput) throws -> Value
    ) throws -> Request<Value> {
        let data = ByteBuffer(wireValues: values)
        let regions = try targetRegions(offset: offset, layout: nil, byteCount: data.readableBytes)
        let combine = OneSidedAccess.Combine(operation: operation, kind: T.accumulateKind, fetch: fetch)
        let payload = OneSidedAccess(regions: regions, combine: combine, data: data).encoded()
        return try startAccess(.accumulate, target: target, segment: segment, payload: payload, transform: transform)
    }

    private func targetRegions(offset: Int, layout: Datatype?, byteCount: Int) throws -> [Datatype.Block] {
        guard offset >= 0 else { throw TrellisError(.invalidArgument, "window offset \(offset) is negative") }
        guard let layout else { return [Datatype.Block(offset: offset, length: byteCount)] }
        guard layout.byteCount == byteCount else {
            throw TrellisError(.invalidArgument, "\(layout) holds \(layout.byteCount) bytes, not \(byteCount)")
        }
        return try layout.shifted(by: offset).blocks
    }

    private func startAccess<Value>(
        _ operation: OneSidedOperation, target: Int, segment: UInt64, payload: ByteBuffer,
        transform: @escaping @Sendable (RequestOutput) throws -> Value
    ) throws -> Request<Value> {
        try engine.lock.withLock {
            try checkTarget(target)
            guard access.locks[target] != nil || access.fenceOpen else {
                throw TrellisError(.invalidArgument, "\(self) has no access epoch at rank \(target): lock it or call fence first")
            }
            let core = RequestCore(engine: engine, label: .oneSided(operation, rank: target))
            start(operation, target: target, aux: segment, payload: payload, core: core)
            return Request(core: core, transform: transform)
        }
    }

    /// Engine lock held.
    private func start(_ operation: OneSidedOperation, target: Int, aux: UInt64 = 0, payload: ByteBuffer? = nil, core: RequestCore) {
        engine.startOneSided(
            operation, context: communicator.context, target: communicator.process(ofRank: target), targetRank: target,
            aux: aux, payload: payload, access: access, request: core)
    }

    /// Engine lock held.
    private func checkTarget(_ target: Int) throws {
        if access.isFreed { throw TrellisError(.communicatorFreed, "\(self) has been freed") }
        try communicator.checkRank(target, role: "window target")
    }

    // MARK: Freeing

    /// Releases the window here: its memory goes, accesses that still arrive
    /// are refused, and this process's pending operations on it fail. Not
    /// collective, so a member that died cannot hold it up.
    public func free() {
        engine.lock.withLock { engine.freeWindow(communicator.context, access: access) }
        communicator.free()
    }
}

extension Communicator {
    /// Makes a window with `byteCount` zeroed bytes at every member (each may
    /// pass its own size; 0 gives a window to attach memory to later).
    /// Collective: returns once every member has made its part, so accesses
    /// can start at once.
    public func createWindow(byteCount: Int, deadline: Deadline? = nil) throws -> Window {
        guard byteCount >= 0 else { throw TrellisError(.invalidArgument, "a window cannot have \(byteCount) bytes") }
        try requireIntracommunicator("createWindow")
        let windowCommunicator = try duplicate(deadline: deadline)
        engine.lock.withLock {
            let window = TargetWindow(owner: engine.processID)
            window.segments[0] = WindowSegment(byteCount: byteCount)
            engine.oneSided.windows[windowCommunicator.context] = window
        }
        let window = Window(communicator: windowCommunicator)
        do {
            try windowCommunicator.barrier(deadline: deadline)
        } catch {
            window.free()
            throw error
        }
        return window
    }

    /// A window with no memory yet: members `attach` segments when they want
    /// (MPI_Win_create_dynamic).
    public func createDynamicWindow(deadline: Deadline? = nil) throws -> Window {
        let window = try createWindow(byteCount: 0, deadline: deadline)
        try window.detach(0)
        return window
    }
}
