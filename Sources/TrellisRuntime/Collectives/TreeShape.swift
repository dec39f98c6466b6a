/// Arithmetic of the binomial tree rooted at `root`, over ranks relative to
/// it (`relative = (rank - root) mod size`). Node r's parent is r without its
/// lowest set bit; its children are r + 2^k for every 2^k below that bit.
struct BinomialTree {
    let rank: Int
    let size: Int
    let root: Int

    var relative: Int { (rank - root + size) % size }

    func actual(_ relativeRank: Int) -> Int { (relativeRank + root) % size }

    /// The lowest set bit of the relative rank; for the root, the first power of two ≥ size.
    var span: Int {
        let r = relative
        if r == 0 {
            var power = 1
            while power < size { power <<= 1 }
            return power
        }
        return r & -r
    }

    var parent: Int? { relative == 0 ? nil : actual(relative - span) }

    /// Children, nearest subtree last (largest subtrees first, as MPICH sends).
    var children: [(rank: Int, relativeRank: Int, subtreeSize: Int)] {
        var result: [(Int, Int, Int)] = []
        var mask = span >> 1
        while mask > 0 {
            let child = relative + mask
            if child < size { result.append((actual(child), child, min(mask, size - child))) }
            mask >>= 1
        }
        return result
    }

    /// Ranks (relative) this node's subtree covers, itself included.
    var subtree: Range<Int> { relative..<min(relative + span, size) }
}

/// Splits `total` items into `parts` nearly equal consecutive blocks.
func blockRanges(total: Int, parts: Int) -> [Range<Int>] {
    let base = total / parts
    let extra = total % parts
    var ranges: [Range<Int>] = []
    var start = 0
    for index in 0..<parts {
        let length = base + (index < extra ? 1 : 0)
        ranges.append(start..<start + length)
        start += length
    }
    return ranges
}
