import NIOCore
import TrellisCore

/// Collectives on arrays of fixed-width values, over the byte-buffer ones.
extension Communicator {
    public func broadcast<T: WireScalar>(_ values: [T]?, root: Int, deadline: Deadline? = nil) throws -> [T] {
        try broadcast(values.map { ByteBuffer(wireValues: $0) }, root: root, deadline: deadline).wireValues()
    }

    public func reduce<T: WireScalar>(_ values: [T], _ reduction: Reduction<T>, root: Int, deadline: Deadline? = nil) throws -> [T]? {
        try reduce(ByteBuffer(wireValues: values), reduction.operation, root: root, deadline: deadline)?.wireValues()
    }

    public func allreduce<T: WireScalar>(_ values: [T], _ reduction: Reduction<T>, deadline: Deadline? = nil) throws -> [T] {
        try allreduce(ByteBuffer(wireValues: values), reduction.operation, deadline: deadline).wireValues()
    }

    public func iallreduce<T: WireScalar>(_ values: [T], _ reduction: Reduction<T>) throws -> Request<[T]> {
        let inner = try iallreduce(ByteBuffer(wireValues: values), reduction.operation)
        return Request(core: inner.requestCore) { output in try inner.transform(output).wireValues() }
    }

    public func reduceScatter<T: WireScalar>(_ values: [T], counts: [Int], _ reduction: Reduction<T>, deadline: Deadline? = nil) throws -> [T] {
        try reduceScatter(ByteBuffer(wireValues: values), counts: counts, reduction.operation, deadline: deadline).wireValues()
    }

    public func scan<T: WireScalar>(_ values: [T], _ reduction: Reduction<T>, deadline: Deadline? = nil) throws -> [T] {
        try scan(ByteBuffer(wireValues: values), reduction.operation, deadline: deadline).wireValues()
    }

    /// nil at rank 0.
    public func exscan<T: WireScalar>(_ values: [T], _ reduction: Reduction<T>, deadline: Deadline? = nil) throws -> [T]? {
        try exscan(ByteBuffer(wireValues: values), reduction.operation, deadline: deadline)?.wireValues()
    }

    public func gather<T: WireScalar>(_ values: [T], root: Int, deadline: Deadline? = nil) throws -> [[T]]? {
        try gather(ByteBuffer(wireValues: values), root: root, deadline: deadline)?.map { try $0.wireValues() }
    }

    public func scatter<T: WireScalar>(_ values: [[T]]?, root: Int, deadline: Deadline? = nil) throws -> [T] {
        try scatter(values?.map { ByteBuffer(wireValues: $0) }, root: root, deadline: deadline).wireValues()
    }

    public func allgather<T: WireScalar>(_ values: [T], deadline: Deadline? = nil) throws -> [[T]] {
        try allgather(ByteBuffer(wireValues: values), deadline: deadline).map { try $0.wireValues() }
    }

    public func alltoall<T: WireScalar>(_ values: [[T]], deadline: Deadline? = nil) throws -> [[T]] {
        try alltoall(values.map { ByteBuffer(wireValues: $0) }, deadline: deadline).map { try $0.wireValues() }
    }
}
