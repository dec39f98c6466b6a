import NIOCore

/// Inclusive (`scan`) or exclusive (`exscan`) prefix reduction by recursive
/// doubling: in round k, ranks 2^k apart swap their partial sums; a rank
/// folds in what comes from below, keeping rank order. The exclusive scan
/// has no value at rank 0.
func scanSchedule(payload: ByteBuffer, operation: ReductionOperation, inclusive: Bool, rank: Int, size: Int) -> CollectiveSchedule {
    let schedule = CollectiveSchedule()
    // `partial` is the reduction over the block of ranks this rank has heard
    // of so far (itself included); `prefix` is the answer so far.
    let partial = ReductionState(value: payload)
    let prefix = ReductionState(value: payload)
    var hasPrefix = inclusive
    var mask = 1
    while mask < size {
        let partner = rank ^ mask
        if partner < size {
            let fromBelow = partner < rank
            schedule.step { step in
                step.sends.append((partner, { partial.value }))
                step.receives.append((partner, { incoming in
                    if fromBelow {
                        partial.value = try operation.apply(lower: incoming, upper: partial.value)
                        prefix.value = hasPrefix ? try operation.apply(lower: incoming, upper: prefix.value) : incoming
                        hasPrefix = true
                    } else {
                        partial.value = try operation.apply(lower: partial.value, upper: incoming)
                    }
                }))
            }
        }
        mask <<= 1
    }
    schedule.result = { .optionalBuffer(hasPrefix ? prefix.value : nil) }
    return schedule
}
