import NIOCore
import TrellisCore

/// Reduce-scatter: the elementwise reduction of every rank's buffer, split
/// so that rank i keeps `counts[i]` elements. Commutative operations use the
/// ring; others reduce to rank 0 in rank order and scatter from there.
func reduceScatterSchedule(payload: ByteBuffer, counts: [Int], operation: ReductionOperation, rank: Int, size: Int) throws -> CollectiveSchedule {
    let total = try operation.elementCount(of: payload)
    guard counts.count == size, counts.allSatisfy({ $0 >= 0 }), counts.reduce(0, +) == total else {
        throw TrellisError(
            .invalidArgument,
            "reduce-scatter counts \(counts) must list \(size) non-negative counts adding up to the \(total) elements given")
    }
    let width = operation.elementByteCount
    var offsets: [Int] = []
    var offset = 0
    for count in counts {
        offsets.append(offset)
        offset += count
    }
    let blocks = (0..<size).map { payload.getSlice(at: payload.readerIndex + offsets[$0] * width, length: counts[$0] * width)! }

    if operation.isCommutative {
        let schedule = CollectiveSchedule()
        let state = BlockState(blocks: blocks)
        appendRingReduceScatter(to: schedule, state: state, operation: operation, rank: rank, size: size)
        schedule.result = { .buffer(state.blocks[rank]) }
        return schedule
    }
    let schedule = try reduceSchedule(payload: payload, operation: operation, root: 0, rank: rank, size: size)
    let reduced = schedule.result
    let state = ReductionState(value: ByteBuffer())
    schedule.step { step in
        if rank == 0 {
            for destination in 1..<size {
                step.sends.append((destination, {
                    guard case .optionalBuffer(let whole?) = try reduced() else { return ByteBuffer() }
                    return whole.getSlice(at: whole.readerIndex + offsets[destination] * width, length: counts[destination] * width)!
                }))
            }
        } else {
            step.receives.append((0, { state.value = $0 }))
        }
    }
    schedule.result = {
        if rank == 0, case .optionalBuffer(let whole?) = try reduced() {
            return .buffer(whole.getSlice(at: whole.readerIndex, length: counts[0] * width)!)
        }
        return .buffer(state.value)
    }
    return schedule
}
