import TrellisCore

extension NamespaceCluster {
    /// The hosts a benchmark of tools runs on: `count` namespace hosts with
    /// their sshds, once it is known that they can be made here and that
    /// nothing the benchmark compares with is `missing`. Throws
    /// `notSupported` naming the benchmark and what stops it.
    static func forBenchmark(
        _ bench: String, count: Int, prefix: String, comparesWith baselines: String = "", missing: String? = nil, announce: () -> Void
    ) throws -> NamespaceCluster {
        if let reason = unavailable {
            throw TrellisError(.notSupported, "trellis bench \(bench) runs on namespace hosts: \(reason)")
        }
        if let missing { throw TrellisError(.notSupported, "trellis bench \(bench) compares with \(baselines): \(missing)") }
        announce()
        return try NamespaceCluster(count: count, prefix: prefix)
    }
}
