import NIOCore
import TrellisCore

/// Reduce to `root` over a binomial tree: each node combines its children's
/// partial results, lower ranks on the left. Operations that do not commute
/// reduce to rank 0, where the tree keeps rank order, and the result moves
/// on to the root. Large data under commutative operations is
/// reduce-scattered round a ring, then gathered at the root (Rabenseifner's
/// reduce), so that no rank reduces the whole vector log₂ p times.
func reduceSchedule(payload: ByteBuffer, operation: ReductionOperation, root: Int, rank: Int, size: Int, largeBytes: Int = .max) throws -> CollectiveSchedule {
    let count = try operation.elementCount(of: payload)
    if operation.isCommutative && payload.readableBytes >= largeBytes && count >= size && size > 2 {
        return scatterGatherReduceSchedule(payload: payload, operation: operation, elements: count, root: root, rank: rank, size: size)
    }
    let schedule = CollectiveSchedule()
    let treeRoot = operation.isCommutative ? root : 0
    let tree = BinomialTree(rank: rank, size: size, root: treeRoot)
    let state = ReductionState(value: payload)

    // Children in increasing relative rank, so the accumulator stays the lower side.
    for child in tree.children.reversed() {
        schedule.step { step in
            step.receives.append((child.rank, { incoming in
                state.value = try operation.apply(lower: state.value, upper: incoming)
            }))
        }
    }
    if let parent = tree.parent {
        schedule.step { step in step.sends.append((parent, { state.value })) }
    }
    if treeRoot != root {
        if rank == treeRoot {
            schedule.step { step in step.sends.append((root, { state.value })) }
        } else if rank == root {
            schedule.step { step in step.receives.append((treeRoot, { state.value = $0 })) }
        }
    }
    schedule.result = { .optionalBuffer(rank == root ? state.value : nil) }
    return schedule
}

/// Ring reduce-scatter (rank r ends with block r reduced), then every
/// rank's block to the root.
func scatterGatherReduceSchedule(payload: ByteBuffer, operation: ReductionOperation, elements: Int, root: Int, rank: Int, size: Int) -> CollectiveSchedule {
    let schedule = CollectiveSchedule()
    let width = operation.elementByteCount
    let ranges = blockRanges(total: elements, parts: size)
    let state = BlockState(blocks: ranges.map { payload.getSlice(at: payload.readerIndex + $0.lowerBound * width, length: $0.count * width)! })
    appendRingReduceScatter(to: schedule, state: state, operation: operation, rank: rank, size: size)
    schedule.step { step in
        if rank == root {
            for source in 0..<size where source != root { step.receives.append((source, { incoming in state.blocks[source] = incoming })) }
        } else {
            step.sends.append((root, { state.blocks[rank] }))
        }
    }
    schedule.result = {
        guard rank == root else { return .optionalBuffer(nil) }
        var whole = ByteBufferAllocator().buffer(capacity: payload.readableBytes)
        for block in state.blocks { whole.writeImmutableBuffer(block) }
        return .optionalBuffer(whole)
    }
    return schedule
}

final class ReductionState {
    var value: ByteBuffer
    init(value: ByteBuffer) { self.value = value }
}
