/// The serial computation the collectives are checked against, for one rank.
///
/// Every running total is taken in one pass over the ranks with plain loops:
/// with 16 ranks on two cores and unoptimised builds, computing each expected
/// value separately with `map` and `reduce` took three times longer than the
/// collectives it checked.
struct ExpectedCollectiveResults {
    /// Values each rank contributes.
    let count: Int
    /// Element-wise sum over all ranks.
    private(set) var sums: [Int]
    /// Element-wise sum over all ranks, as `Double(value) / 8`, added in rank order.
    private(set) var doubleSums: [Double]
    /// Element-wise composition (`Scenarios.composeAffine`) over all ranks in rank order.
    private(set) var composed: [Int]
    /// Inclusive prefix sums up to this rank.
    private(set) var prefixSums: [Int]
    /// Exclusive prefix sums below this rank; `nil` on rank 0, as `exscan` gives.
    private(set) var exclusivePrefixSums: [Int]?
    /// Inclusive prefix composition up to this rank.
    private(set) var composedPrefix: [Int]

    init(rank: Int, size: Int, count: Int) {
        self.count = count
        var sums = Array(repeating: 0, count: count)
        var doubleSums = Array(repeating: 0.0, count: count)
        var composed = Scenarios.row(of: 0, count: count)
        var prefixSums = sums, composedPrefix = composed
        var exclusive: [Int]? = nil
        for other in 0..<size {
            if other == rank && rank > 0 { exclusive = sums }
            let values = Scenarios.row(of: other, count: count)
            for index in 0..<count {
                sums[index] += values[index]
                doubleSums[index] += Double(values[index]) / 8
                if other > 0 { composed[index] = Scenarios.composeAffine(composed[index], values[index]) }
            }
            if other == rank {
                prefixSums = sums
                composedPrefix = composed
            }
        }
        self.sums = sums
        self.doubleSums = doubleSums
        self.composed = composed
        self.prefixSums = prefixSums
        self.exclusivePrefixSums = exclusive
        self.composedPrefix = composedPrefix
    }

    /// What rank `other` contributes, or its first `prefix` values.
    func row(of other: Int, count prefix: Int? = nil) -> [Int] {
        Scenarios.row(of: other, count: min(prefix ?? count, count))
    }
}

extension Scenarios {
    /// The values rank `rank` contributes, `contribution(rank:index:)` for each index.
    static func row(of rank: Int, count: Int) -> [Int] {
        var values = [Int]()
        values.reserveCapacity(count)
        for index in 0..<count { values.append(contribution(rank: rank, index: index)) }
        return values
    }
}
