import NIOCore

/// The dissemination barrier: in round k every rank signals rank + 2^k and
/// hears from rank - 2^k; after ⌈log₂ size⌉ rounds everyone has heard,
/// indirectly, from everyone.
func barrierSchedule(rank: Int, size: Int) -> CollectiveSchedule {
    let schedule = CollectiveSchedule()
    var distance = 1
    while distance < size {
        let to = (rank + distance) % size
        let from = (rank - distance + size) % size
        schedule.step { step in
            step.sends.append((to, { ByteBuffer() }))
            step.receives.append((from, { _ in }))
        }
        distance <<= 1
    }
    return schedule
}
