import NIOCore
import TrellisCore

/// Reduce to `root` over a binomial tree: each node combines its children's
/// partial results, lower ranks on the left. Operations that do not commute
/// reduce to rank 0, where the tree keeps rank order, and the result moves
/// on to the root.
func reduceSchedule(payload: ByteBuffer, operation: ReductionOperation, root: Int, rank: Int, size: Int) -> CollectiveSchedule {
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

final class ReductionState {
    var value: ByteBuffer
    init(value: ByteBuffer) { self.value = value }
}
