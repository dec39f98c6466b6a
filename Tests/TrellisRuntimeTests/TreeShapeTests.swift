import Testing
@testable import TrellisRuntime

@Suite struct TreeShapeTests {
    /// Every rank but the root has exactly one parent, who lists it as a child,
    /// and subtrees are the contiguous ranges the scatter relies on.
    @Test(arguments: Array(1...40))
    func binomialTreeCoversEveryRankOnce(size: Int) {
        for root in 0..<size {
            var parentOf: [Int: Int] = [:]
            for rank in 0..<size {
                let tree = BinomialTree(rank: rank, size: size, root: root)
                #expect((tree.parent == nil) == (rank == root))
                var covered = [tree.relative]
                for child in tree.children {
                    #expect(parentOf[child.rank] == nil)
                    parentOf[child.rank] = rank
                    covered += Array(child.relativeRank..<child.relativeRank + child.subtreeSize)
                }
                #expect(Set(covered) == Set(tree.subtree))
            }
            for rank in 0..<size where rank != root {
                #expect(parentOf[rank] == BinomialTree(rank: rank, size: size, root: root).parent)
            }
            #expect(parentOf.count == size - 1)
        }
    }

    @Test func blockRangesSplitEvenly() {
        for total in 0..<50 {
            for parts in 1..<12 {
                let ranges = blockRanges(total: total, parts: parts)
                #expect(ranges.count == parts)
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == total)
                #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                #expect((ranges.map(\.count).max() ?? 0) - (ranges.map(\.count).min() ?? 0) <= 1)
            }
        }
    }
}
