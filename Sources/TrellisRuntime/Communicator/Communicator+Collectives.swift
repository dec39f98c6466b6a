import NIOCore
import TrellisCore

/// Collectives on byte buffers. Each has a nonblocking form (`i…`) that
/// returns a `Request`; the blocking form waits on it. All members must call
/// the same collectives in the same order; different communicators never mix.
extension Communicator {
    private var largeBytes: Int { engine.limits.largeCollectiveBytes }

    private func request<T>(_ name: String, _ schedule: CollectiveSchedule, _ transform: @escaping @Sendable (RequestOutput) throws -> T) throws -> Request<T> {
        Request(core: try startCollective(name, schedule), transform: transform)
    }

    // MARK: Barrier

    /// Starts a barrier, as MPI_Ibarrier: the request completes once every member has entered it.
    public func ibarrier() throws -> Request<Void> {
        try request("barrier", barrierSchedule(rank: rank, size: size)) { _ in () }
    }

    /// Blocks until every member has entered the barrier, as MPI_Barrier; throws
    /// `timedOut` if `deadline` passes first.
    public func barrier(deadline: Deadline? = nil) throws {
        try ibarrier().wait(deadline: deadline)
    }

    // MARK: Broadcast

    /// The root passes the data; the others pass nil and learn it, size included.
    /// `pipelined` (read at the root alone): the caller keeps several
    /// broadcasts in flight, so each large one goes whole along a chain of
    /// the ranks, each sending it once, instead of being scattered and
    /// gathered again to spread one broadcast's sending over every rank.
    public func ibroadcast(_ payload: ByteBuffer?, root: Int, pipelined: Bool = false) throws -> Request<ByteBuffer> {
        try checkRank(root, role: "root")
        if rank == root && payload == nil {
            throw TrellisError(.invalidArgument, "the broadcast root must supply the data")
        }
        let schedule = broadcastSchedule(
            payload: payload, root: root, rank: rank, size: size, largeBytes: largeBytes, chained: pipelined)
        return try request("broadcast", schedule, Self.buffer)
    }

    /// Blocking `ibroadcast` (never pipelined), as MPI_Bcast: every rank returns the root's data.
    public func broadcast(_ payload: ByteBuffer?, root: Int, deadline: Deadline? = nil) throws -> ByteBuffer {
        try ibroadcast(payload, root: root).wait(deadline: deadline)
    }

    // MARK: Reductions

    /// The reduction at `root`; nil elsewhere.
    public func ireduce(_ payload: ByteBuffer, _ operation: ReductionOperation, root: Int) throws -> Request<ByteBuffer?> {
        try checkRank(root, role: "root")
        let schedule = try reduceSchedule(payload: payload, operation: operation, root: root, rank: rank, size: size, largeBytes: largeBytes)
        return try request("reduce(\(operation.name))", schedule, Self.optionalBuffer)
    }

    /// Blocking `ireduce`, as MPI_Reduce: the reduction at `root`, nil elsewhere.
    public func reduce(_ payload: ByteBuffer, _ operation: ReductionOperation, root: Int, deadline: Deadline? = nil) throws -> ByteBuffer? {
        try ireduce(payload, operation, root: root).wait(deadline: deadline)
    }

    /// Starts an allreduce, as MPI_Iallreduce: every rank gets the elementwise
    /// reduction of all ranks' buffers, which must have the same length.
    public func iallreduce(_ payload: ByteBuffer, _ operation: ReductionOperation) throws -> Request<ByteBuffer> {
        let schedule = try allreduceSchedule(payload: payload, operation: operation, rank: rank, size: size, largeBytes: largeBytes)
        return try request("allreduce(\(operation.name))", schedule, Self.buffer)
    }

    /// Blocking `iallreduce`, as MPI_Allreduce.
    public func allreduce(_ payload: ByteBuffer, _ operation: ReductionOperation, deadline: Deadline? = nil) throws -> ByteBuffer {
        try iallreduce(payload, operation).wait(deadline: deadline)
    }

    /// Reduces every rank's buffer and leaves `counts[i]` elements of the result at rank i.
    public func ireduceScatter(_ payload: ByteBuffer, counts: [Int], _ operation: ReductionOperation) throws -> Request<ByteBuffer> {
        let schedule = try reduceScatterSchedule(payload: payload, counts: counts, operation: operation, rank: rank, size: size)
        return try request("reduce-scatter(\(operation.name))", schedule, Self.buffer)
    }

    /// Blocking `ireduceScatter`, as MPI_Reduce_scatter.
    public func reduceScatter(_ payload: ByteBuffer, counts: [Int], _ operation: ReductionOperation, deadline: Deadline? = nil) throws -> ByteBuffer {
        try ireduceScatter(payload, counts: counts, operation).wait(deadline: deadline)
    }

    /// Inclusive prefix reduction: rank i gets the reduction over ranks 0...i.
    public func iscan(_ payload: ByteBuffer, _ operation: ReductionOperation) throws -> Request<ByteBuffer> {
        _ = try operation.elementCount(of: payload)
        let schedule = scanSchedule(payload: payload, operation: operation, inclusive: true, rank: rank, size: size)
        return try request("scan(\(operation.name))", schedule) { output in try Self.optionalBuffer(output)! }
    }

    /// Blocking `iscan`, as MPI_Scan.
    public func scan(_ payload: ByteBuffer, _ operation: ReductionOperation, deadline: Deadline? = nil) throws -> ByteBuffer {
        try iscan(payload, operation).wait(deadline: deadline)
    }

    /// Exclusive prefix reduction: rank i gets the reduction over ranks 0..<i; rank 0 gets nil.
    public func iexscan(_ payload: ByteBuffer, _ operation: ReductionOperation) throws -> Request<ByteBuffer?> {
        _ = try operation.elementCount(of: payload)
        let schedule = scanSchedule(payload: payload, operation: operation, inclusive: false, rank: rank, size: size)
        return try request("exscan(\(operation.name))", schedule, Self.optionalBuffer)
    }

    /// Blocking `iexscan`, as MPI_Exscan; rank 0 gets nil.
    public func exscan(_ payload: ByteBuffer, _ operation: ReductionOperation, deadline: Deadline? = nil) throws -> ByteBuffer? {
        try iexscan(payload, operation).wait(deadline: deadline)
    }

    // MARK: Gather and scatter

    /// Every rank's buffer, by rank, at the root; nil elsewhere. Lengths may differ (gatherv).
    public func igather(_ payload: ByteBuffer, root: Int) throws -> Request<[ByteBuffer]?> {
        try checkRank(root, role: "root")
        return try request("gather", gatherSchedule(payload: payload, root: root, rank: rank, size: size)) { output in
            guard case .optionalBuffers(let buffers) = output else { preconditionFailure("gather produced \(output)") }
            return buffers
        }
    }

    /// Blocking `igather`, as MPI_Gatherv: every rank's buffer at the root, nil elsewhere.
    public func gather(_ payload: ByteBuffer, root: Int, deadline: Deadline? = nil) throws -> [ByteBuffer]? {
        try igather(payload, root: root).wait(deadline: deadline)
    }

    /// The root passes one buffer per rank (lengths may differ: scatterv); every rank gets its own.
    public func iscatter(_ buffers: [ByteBuffer]?, root: Int) throws -> Request<ByteBuffer> {
        try checkRank(root, role: "root")
        if rank == root {
            guard let buffers, buffers.count == size else {
                throw TrellisError(.invalidArgument, "the scatter root must pass \(size) buffers, one per rank")
            }
        }
        return try request("scatter", scatterSchedule(buffers: buffers, root: root, rank: rank, size: size), Self.buffer)
    }

    /// Blocking `iscatter`, as MPI_Scatterv: the root passes one buffer per rank; every rank gets its own.
    public func scatter(_ buffers: [ByteBuffer]?, root: Int, deadline: Deadline? = nil) throws -> ByteBuffer {
        try iscatter(buffers, root: root).wait(deadline: deadline)
    }

    /// Every rank's buffer, by rank, everywhere (allgatherv when lengths differ).
    public func iallgather(_ payload: ByteBuffer) throws -> Request<[ByteBuffer]> {
        try request("allgather", allgatherSchedule(payload: payload, rank: rank, size: size), Self.buffers)
    }

    /// Blocking `iallgather`, as MPI_Allgatherv: every rank's buffer, by rank, everywhere.
    public func allgather(_ payload: ByteBuffer, deadline: Deadline? = nil) throws -> [ByteBuffer] {
        try iallgather(payload).wait(deadline: deadline)
    }

    /// Rank i sends `buffers[j]` to rank j and receives, at index j, what rank j sent it (alltoallv).
    public func ialltoall(_ buffers: [ByteBuffer]) throws -> Request<[ByteBuffer]> {
        guard buffers.count == size else {
            throw TrellisError(.invalidArgument, "alltoall needs \(size) buffers, one per rank; got \(buffers.count)")
        }
        return try request("alltoall", alltoallSchedule(buffers: buffers, rank: rank, size: size), Self.buffers)
    }

    /// Blocking `ialltoall`, as MPI_Alltoallv.
    public func alltoall(_ buffers: [ByteBuffer], deadline: Deadline? = nil) throws -> [ByteBuffer] {
        try ialltoall(buffers).wait(deadline: deadline)
    }

    // MARK: Output conversions

    @Sendable static func buffer(_ output: RequestOutput) throws -> ByteBuffer {
        switch output {
        case .buffer(let buffer): return buffer
        case .optionalBuffer(let buffer?): return buffer
        default: preconditionFailure("collective produced \(output)")
        }
    }

    @Sendable static func optionalBuffer(_ output: RequestOutput) throws -> ByteBuffer? {
        switch output {
        case .buffer(let buffer): return buffer
        case .optionalBuffer(let buffer): return buffer
        default: preconditionFailure("collective produced \(output)")
        }
    }

    @Sendable static func buffers(_ output: RequestOutput) throws -> [ByteBuffer] {
        guard case .buffers(let buffers) = output else { preconditionFailure("collective produced \(output)") }
        return buffers
    }
}
