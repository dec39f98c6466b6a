/// SplitMix64: a small random generator whose runs repeat from a seed, so a
/// randomized test or workload that fails can be replayed from the seed it printed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    /// Where the generator is in its run; a generator made from this value goes
    /// on with the same numbers.
    public private(set) var state: UInt64

    /// Starts a run; generators started from the same value give the same numbers.
    public init(seed: UInt64) { state = seed }

    /// The next number of the run.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
