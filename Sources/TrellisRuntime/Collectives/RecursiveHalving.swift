import NIOCore
import TrellisCore

/// Rabenseifner's allreduce for a power-of-two number of ranks: a
/// reduce-scatter by recursive halving (log₂ p rounds, each rank sending
/// half of what it holds, then a quarter, ...) leaves rank r with the
/// reduction of block r, and an allgather by recursive doubling spreads the
/// blocks back. Each rank sends and reduces about n bytes in all, as in the
/// ring, in 2·log₂ p rounds instead of 2(p−1): the schedule MPICH uses for
/// long messages (Thakur, Rabenseifner and Gropp, "Optimization of
/// Collective Communication Operations in MPICH", 2005). The operation
/// must commute.
func recursiveHalvingAllreduceSchedule(payload: ByteBuffer, operation: ReductionOperation, elements: Int, rank: Int, size: Int) -> CollectiveSchedule {
    precondition(size > 1 && size & (size - 1) == 0, "recursive halving needs a power-of-two size")
    let schedule = CollectiveSchedule()
    let width = operation.elementByteCount
    let ranges = blockRanges(total: elements, parts: size)
    let state = BlockState(blocks: ranges.map { payload.getSlice(at: payload.readerIndex + $0.lowerBound * width, length: $0.count * width)! })
    // Reduce-scatter: the window of blocks this rank is responsible for halves each round.
    var window = 0..<size
    var mask = size / 2
    while mask >= 1 {
        let partner = rank ^ mask
        let middle = window.lowerBound + window.count / 2
        let (kept, given) = rank & mask == 0 ? (window.lowerBound..<middle, middle..<window.upperBound) : (middle..<window.upperBound, window.lowerBound..<middle)
        schedule.step { step in
            for block in given { step.sends.append((partner, { state.blocks[block] })) }
            for block in kept {
                step.receives.append((partner, { incoming in
                    state.blocks[block] = try operation.apply(lower: incoming, upper: state.blocks[block])
                }))
            }
        }
        window = kept
        mask /= 2
    }
    // Allgather: the window doubles each round, taking the partner's half.
    mask = 1
    while mask < size {
        let partner = rank ^ mask
        let theirs = rank & mask == 0 ? window.upperBound..<window.upperBound + window.count : window.lowerBound - window.count..<window.lowerBound
        let mine = window
        schedule.step { step in
            for block in mine { step.sends.append((partner, { state.blocks[block] })) }
            for block in theirs { step.receives.append((partner, { incoming in state.blocks[block] = incoming })) }
        }
        window = min(mine.lowerBound, theirs.lowerBound)..<max(mine.upperBound, theirs.upperBound)
        mask *= 2
    }
    schedule.result = {
        var whole = ByteBufferAllocator().buffer(capacity: payload.readableBytes)
        for block in state.blocks { whole.writeImmutableBuffer(block) }
        return .buffer(whole)
    }
    return schedule
}
