import NIOCore

/// Gather to `root`, each rank's buffer of any length (so this is also
/// gatherv). The root posts all receives at once; linear in p at the root,
/// which is what MPICH does for gatherv as well.
func gatherSchedule(payload: ByteBuffer, root: Int, rank: Int, size: Int) -> CollectiveSchedule {
    let schedule = CollectiveSchedule()
    let state = BlockState(blocks: Array(repeating: ByteBuffer(), count: size))
    schedule.step { step in
        if rank == root {
            state.blocks[rank] = payload
            for source in 0..<size where source != root {
                step.receives.append((source, { state.blocks[source] = $0 }))
            }
        } else {
            step.sends.append((root, { payload }))
        }
    }
    schedule.result = { .optionalBuffers(rank == root ? state.blocks : nil) }
    return schedule
}

/// Scatter from `root`: rank i gets `buffers[i]`, of any length (scatterv).
func scatterSchedule(buffers: [ByteBuffer]?, root: Int, rank: Int, size: Int) -> CollectiveSchedule {
    let schedule = CollectiveSchedule()
    let state = ReductionState(value: ByteBuffer())
    schedule.step { step in
        if rank == root, let buffers {
            state.value = buffers[rank]
            for destination in 0..<size where destination != root {
                step.sends.append((destination, { buffers[destination] }))
            }
        } else {
            step.receives.append((root, { state.value = $0 }))
        }
    }
    schedule.result = { .buffer(state.value) }
    return schedule
}

/// Allgather by the ring: p−1 rounds, each passing one block to the right.
/// Blocks may differ in length (allgatherv).
func allgatherSchedule(payload: ByteBuffer, rank: Int, size: Int) -> CollectiveSchedule {
    let schedule = CollectiveSchedule()
    var blocks = Array(repeating: ByteBuffer(), count: size)
    blocks[rank] = payload
    let state = BlockState(blocks: blocks)
    appendRingAllgather(to: schedule, state: state, position: rank, size: size) { $0 }
    schedule.result = { .buffers(state.blocks) }
    return schedule
}

/// All-to-all by pairwise exchange: in round i, send to rank + i and receive
/// from rank − i. Blocks may differ in length (alltoallv).
func alltoallSchedule(buffers: [ByteBuffer], rank: Int, size: Int) -> CollectiveSchedule {
    let schedule = CollectiveSchedule()
    var blocks = Array(repeating: ByteBuffer(), count: size)
    blocks[rank] = buffers[rank]
    let state = BlockState(blocks: blocks)
    for round in 1..<max(size, 1) {
        let to = (rank + round) % size
        let from = (rank - round + size) % size
        schedule.step { step in
            step.sends.append((to, { buffers[to] }))
            step.receives.append((from, { state.blocks[from] = $0 }))
        }
    }
    schedule.result = { .buffers(state.blocks) }
    return schedule
}
