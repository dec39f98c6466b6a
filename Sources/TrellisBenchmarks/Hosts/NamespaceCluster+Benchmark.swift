import TrellisCore

extension NamespaceCluster {
    /// The hosts a benchmark of tools runs on: `count` namespace hosts with
    /// their sshds, once it is known that they can be made here and that
    /// nothing the benchmark compares with is `missing`; `beforeMaking` (the
    /// benchmark's own preparation, its progress line) runs between the checks
    /// and the hosts. Throws `notSupported` naming the benchmark and what stops
    /// it, or what `beforeMaking` throws.
    static func forBenchmark(
        _ bench: String, count: Int, prefix: String, comparesWith baselines: String = "", missing: String? = nil, beforeMaking: () throws -> Void
    ) throws -> NamespaceCluster {
        if let reason = unavailable {
            throw TrellisError(.notSupported, "trellis bench \(bench) runs on namespace hosts: \(reason)")
        }
        if let missing { throw TrellisError(.notSupported, "trellis bench \(bench) compares with \(baselines): \(missing)") }
        try beforeMaking()
        return try NamespaceCluster(count: count, prefix: prefix)
    }
}
