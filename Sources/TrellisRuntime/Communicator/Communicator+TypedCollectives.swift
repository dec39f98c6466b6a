import NIOCore
import TrellisCore

/// Collectives on arrays of fixed-width values, over the byte-buffer ones.
extension Communicator {
    /// The root's values at every rank, as MPI_Bcast; the root passes them, the others pass nil.
    public func broadcast<T: WireScalar>(_ values: [T]?, root: Int, deadline: Deadline? = nil) throws -> [T] {
        try broadcast(values.map { ByteBuffer(wireValues: $0) }, root: root, deadline: deadline).wireValues()
    }

    /// The elementwise reduction of every rank's values at `root`, nil elsewhere, as MPI_Reduce.
    public func reduce<T: WireScalar>(_ values: [T], _ reduction: Reduction<T>, root: Int, deadline: Deadline? = nil) throws -> [T]? {
        try reduce(ByteBuffer(wireValues: values), reduction.operation, root: root, deadline: deadline)?.wireValues()
    }

    /// The elementwise reduction of every rank's values at every rank, as MPI_Allreduce.
    public func allreduce<T: WireScalar>(_ values: [T], _ reduction: Reduction<T>, deadline: Deadline? = nil) throws -> [T] {
        try allreduce(ByteBuffer(wireValues: values), reduction.operation, deadline: deadline).wireValues()
    }

    /// Starts a typed allreduce, as MPI_Iallreduce; the request's value is the reduced array.
    public func iallreduce<T: WireScalar>(_ values: [T], _ reduction: Reduction<T>) throws -> Request<[T]> {
        let inner = try iallreduce(ByteBuffer(wireValues: values), reduction.operation)
        return Request(core: inner.requestCore) { output in try inner.transform(output).wireValues() }
    }

    /// Reduces every rank's values and leaves `counts[i]` elements of the
    /// result at rank i, as MPI_Reduce_scatter.
    public func reduceScatter<T: WireScalar>(_ values: [T], counts: [Int], _ reduction: Reduction<T>, deadline: Deadline? = nil) throws -> [T] {
        try reduceScatter(ByteBuffer(wireValues: values), counts: counts, reduction.operation, deadline: deadline).wireValues()
    }

    /// Inclusive prefix reduction, as MPI_Scan: rank i gets the reduction over ranks 0...i.
    public func scan<T: WireScalar>(_ values: [T], _ reduction: Reduction<T>, deadline: Deadline? = nil) throws -> [T] {
        try scan(ByteBuffer(wireValues: values), reduction.operation, deadline: deadline).wireValues()
    }

    /// nil at rank 0.
    public func exscan<T: WireScalar>(_ values: [T], _ reduction: Reduction<T>, deadline: Deadline? = nil) throws -> [T]? {
        try exscan(ByteBuffer(wireValues: values), reduction.operation, deadline: deadline)?.wireValues()
    }

    /// Every rank's values, by rank, at the root; nil elsewhere. Counts may differ, as in MPI_Gatherv.
    public func gather<T: WireScalar>(_ values: [T], root: Int, deadline: Deadline? = nil) throws -> [[T]]? {
        try gather(ByteBuffer(wireValues: values), root: root, deadline: deadline)?.map { try $0.wireValues() }
    }

    /// The root passes one array per rank (counts may differ, as in MPI_Scatterv); every rank gets its own.
    public func scatter<T: WireScalar>(_ values: [[T]]?, root: Int, deadline: Deadline? = nil) throws -> [T] {
        try scatter(values?.map { ByteBuffer(wireValues: $0) }, root: root, deadline: deadline).wireValues()
    }

    /// Every rank's values, by rank, at every rank, as MPI_Allgatherv.
    public func allgather<T: WireScalar>(_ values: [T], deadline: Deadline? = nil) throws -> [[T]] {
        try allgather(ByteBuffer(wireValues: values), deadline: deadline).map { try $0.wireValues() }
    }

    /// Rank i sends `values[j]` to rank j and gets back, at index j, what rank j sent it, as MPI_Alltoallv.
    public func alltoall<T: WireScalar>(_ values: [[T]], deadline: Deadline? = nil) throws -> [[T]] {
        try alltoall(values.map { ByteBuffer(wireValues: $0) }, deadline: deadline).map { try $0.wireValues() }
    }
}
