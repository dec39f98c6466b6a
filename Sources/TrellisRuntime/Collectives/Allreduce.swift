import NIOCore
import TrellisCore

/// Allreduce. Small data, or operations that do not commute, use recursive
/// doubling (⌈log₂ p⌉ rounds, rank order kept); large data under commutative
/// operations is reduce-scattered then allgathered, which moves about 2n
/// bytes per rank whatever p is: by recursive halving and doubling
/// (Rabenseifner's) on a power of two ranks, else round a ring.
func allreduceSchedule(payload: ByteBuffer, operation: ReductionOperation, rank: Int, size: Int, largeBytes: Int) throws -> CollectiveSchedule {
    let count = try operation.elementCount(of: payload)
    if operation.isCommutative && payload.readableBytes >= largeBytes && count >= size && size > 1 {
        if size & (size - 1) == 0 {
            return recursiveHalvingAllreduceSchedule(payload: payload, operation: operation, elements: count, rank: rank, size: size)
        }
        if size > 2 { return ringAllreduceSchedule(payload: payload, operation: operation, elements: count, rank: rank, size: size) }
    }
    return recursiveDoublingAllreduceSchedule(payload: payload, operation: operation, rank: rank, size: size)
}

/// Recursive doubling with the usual fold for sizes that are not powers of
/// two: the first 2·rem ranks pair up (even into odd) so that a power of two
/// remain, and the results go back to the even ranks at the end.
func recursiveDoublingAllreduceSchedule(payload: ByteBuffer, operation: ReductionOperation, rank: Int, size: Int) -> CollectiveSchedule {
    let schedule = CollectiveSchedule()
    let state = ReductionState(value: payload)
    var powerOfTwo = 1
    while powerOfTwo * 2 <= size { powerOfTwo *= 2 }
    let remainder = size - powerOfTwo

    var newRank: Int
    if rank < 2 * remainder {
        if rank % 2 == 0 {
            schedule.step { step in step.sends.append((rank + 1, { state.value })) }
            newRank = -1
        } else {
            schedule.step { step in
                step.receives.append((rank - 1, { incoming in
                    state.value = try operation.apply(lower: incoming, upper: state.value)
                }))
            }
            newRank = rank / 2
        }
    } else {
        newRank = rank - remainder
    }

    if newRank >= 0 {
        var mask = 1
        while mask < powerOfTwo {
            let partnerNew = newRank ^ mask
            let partner = partnerNew < remainder ? partnerNew * 2 + 1 : partnerNew + remainder
            let partnerIsLower = partner < rank
            schedule.step { step in
                step.sends.append((partner, { state.value }))
                step.receives.append((partner, { incoming in
                    state.value = partnerIsLower
                        ? try operation.apply(lower: incoming, upper: state.value)
                        : try operation.apply(lower: state.value, upper: incoming)
                }))
            }
            mask <<= 1
        }
    }

    if rank < 2 * remainder {
        if rank % 2 == 1 {
            schedule.step { step in step.sends.append((rank - 1, { state.value })) }
        } else {
            schedule.step { step in step.receives.append((rank + 1, { state.value = $0 })) }
        }
    }
    schedule.result = { .buffer(state.value) }
    return schedule
}

/// Ring allreduce: p−1 rounds of reduce-scatter leave rank r with the full
/// reduction of block r, and p−1 rounds of allgather spread the blocks.
func ringAllreduceSchedule(payload: ByteBuffer, operation: ReductionOperation, elements: Int, rank: Int, size: Int) -> CollectiveSchedule {
    let schedule = CollectiveSchedule()
    let width = operation.elementByteCount
    let ranges = blockRanges(total: elements, parts: size)
    let state = BlockState(blocks: ranges.map { payload.getSlice(at: payload.readerIndex + $0.lowerBound * width, length: $0.count * width)! })
    appendRingReduceScatter(to: schedule, state: state, operation: operation, rank: rank, size: size)
    appendRingAllgather(to: schedule, state: state, position: rank, size: size) { $0 }
    schedule.result = {
        var whole = ByteBufferAllocator().buffer(capacity: payload.readableBytes)
        for block in state.blocks { whole.writeImmutableBuffer(block) }
        return .buffer(whole)
    }
    return schedule
}

final class BlockState {
    var blocks: [ByteBuffer]
    init(blocks: [ByteBuffer]) { self.blocks = blocks }
}

/// After these p−1 rounds, `state.blocks[rank]` holds the reduction of every
/// rank's block `rank` (the operation must commute: the ring changes order).
func appendRingReduceScatter(to schedule: CollectiveSchedule, state: BlockState, operation: ReductionOperation, rank: Int, size: Int) {
    let right = (rank + 1) % size
    let left = (rank - 1 + size) % size
    for round in 0..<(size - 1) {
        let sendBlock = (rank - round - 1 + 2 * size) % size
        let receiveBlock = (rank - round - 2 + 2 * size) % size
        schedule.step { step in
            step.sends.append((right, { state.blocks[sendBlock] }))
            step.receives.append((left, { incoming in
                state.blocks[receiveBlock] = try operation.apply(lower: incoming, upper: state.blocks[receiveBlock])
            }))
        }
    }
}

/// After these p−1 rounds every member holds every `state.blocks[i]`, given
/// that the member at ring position i held block i. `rankAt` maps ring
/// positions to ranks (a broadcast's ring runs over ranks relative to its root).
func appendRingAllgather(to schedule: CollectiveSchedule, state: BlockState, position: Int, size: Int, rankAt: @escaping (Int) -> Int) {
    let right = rankAt((position + 1) % size)
    let left = rankAt((position - 1 + size) % size)
    for round in 0..<(size - 1) {
        let sendBlock = (position - round + size) % size
        let receiveBlock = (position - round - 1 + size) % size
        schedule.step { step in
            step.sends.append((right, { state.blocks[sendBlock] }))
            step.receives.append((left, { incoming in state.blocks[receiveBlock] = incoming }))
        }
    }
}
