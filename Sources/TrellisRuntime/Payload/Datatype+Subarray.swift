import TrellisCore

extension Datatype {
    /// The same blocks with another extent (MPI_Type_create_resized with a
    /// lower bound of 0): how far the next copy starts when it is repeated,
    /// or tiled over a file by a view.
    public func resized(extent newExtent: Int) throws -> Datatype {
        try Datatype(blocks: blocks, extent: newExtent)
    }

    /// A block of a multidimensional array stored in row-major order
    /// (MPI_Type_create_subarray with MPI_ORDER_C): the array has `sizes`
    /// elements of `elementBytes` bytes along each dimension, the block
    /// `subsizes` of them from `starts`; the extent is the whole array, so
    /// a file view with it places one rank's block of a global array.
    public static func subarray(sizes: [Int], subsizes: [Int], starts: [Int], elementBytes: Int) throws -> Datatype {
        guard !sizes.isEmpty, sizes.count == subsizes.count, sizes.count == starts.count else {
            throw TrellisError(.invalidArgument, "a subarray needs as many subsizes and starts as sizes, and at least one dimension")
        }
        guard elementBytes > 0 else { throw TrellisError(.invalidArgument, "a subarray's elements need at least one byte") }
        for dimension in sizes.indices {
            guard sizes[dimension] > 0, subsizes[dimension] > 0, starts[dimension] >= 0, starts[dimension] + subsizes[dimension] <= sizes[dimension] else {
                throw TrellisError(
                    .invalidArgument,
                    "dimension \(dimension) of a subarray: \(subsizes[dimension]) elements from \(starts[dimension]) do not fit in \(sizes[dimension])")
            }
        }
        // Bytes from one index to the next along each dimension.
        var strides = [Int](repeating: elementBytes, count: sizes.count)
        for dimension in stride(from: sizes.count - 2, through: 0, by: -1) { strides[dimension] = strides[dimension + 1] * sizes[dimension + 1] }
        let last = sizes.count - 1
        let rowBytes = subsizes[last] * elementBytes
        var blocks: [Block] = []
        var index = [Int](repeating: 0, count: last)
        while true {
            var offset = starts[last] * elementBytes
            for dimension in 0..<last { offset += (starts[dimension] + index[dimension]) * strides[dimension] }
            if let previous = blocks.last, previous.offset + previous.length == offset {
                blocks[blocks.count - 1].length += rowBytes
            } else {
                blocks.append(Block(offset: offset, length: rowBytes))
            }
            // The next row, last dimension but one fastest.
            var dimension = last - 1
            while dimension >= 0 {
                index[dimension] += 1
                if index[dimension] < subsizes[dimension] { break }
                index[dimension] = 0
                dimension -= 1
            }
            if dimension < 0 { break }
        }
        return try Datatype(blocks: blocks, extent: sizes.reduce(elementBytes, *))
    }
}
