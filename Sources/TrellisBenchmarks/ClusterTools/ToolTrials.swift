/// The tools of one comparison (`trellis bench exec`, `stage`, `sync`) run in
/// turns: each repetition runs every tool once, each tool going first in
/// turn, so that a slow drift of the machine or a cache one tool warms for
/// the next falls on all alike; each figure kept is a median.
struct ToolTrials {
    let tools: [String]
    let repetitions: Int

    /// Runs `measure` for every tool `repetitions` times; it returns seconds
    /// per scenario (one run may measure several, as sync's "changed" and
    /// then "nothing"). Returns each scenario's medians by tool.
    func medians(_ measure: (_ tool: String, _ repetition: Int) throws -> [String: Double]) rethrows -> [String: [String: Double]] {
        var runs: [String: [String: [Double]]] = [:]
        for repetition in 0..<repetitions {
            for turn in 0..<tools.count {
                let tool = tools[(turn + repetition) % tools.count]
                for (scenario, seconds) in try measure(tool, repetition) {
                    runs[scenario, default: [:]][tool, default: []].append(seconds)
                }
            }
        }
        return runs.mapValues { $0.mapValues(median) }
    }
}

/// One tool's median time at one point of a tool comparison.
public struct ToolTiming: BenchmarkRecord {
    /// `exec`, `stage` or `sync`.
    public var bench: String
    /// What was done: the command (exec), the workload (stage), `changed` or `nothing` (sync).
    public var scenario: String
    /// The tool, as the benchmark's `tools` names it (`trellis`, `pdsh`, `rsync-loop`, ...).
    public var tool: String
    /// Hosts the tool worked on at this point.
    public var hosts: Int
    /// The tool's median wall time from start to exit, in seconds.
    public var seconds: Double
    /// Bytes that arrived on each host (stage).
    public var bytes: Int64?
    /// Each host's link limit in Mbit/s, when one was set (stage).
    public var linkMegabits: Int?
    /// Bytes that arrived on all the hosts together, per second (stage).
    public var aggregateMibPerSecond: Double?

    init(bench: String, scenario: String, tool: String, hosts: Int, seconds: Double, bytes: Int64? = nil, linkMegabits: Int? = nil) {
        self.bench = bench
        self.scenario = scenario
        self.tool = tool
        self.hosts = hosts
        self.seconds = rounded(seconds, 4)
        self.bytes = bytes
        self.linkMegabits = linkMegabits
        self.aggregateMibPerSecond = bytes.map { rounded(Double($0) * Double(hosts) / seconds / 1_048_576, 1) }
    }
}

/// How many times faster a Trellis tool was than each baseline at one
/// point: the baseline's median seconds over the tool's.
public struct ToolSpeedup: BenchmarkRecord {
    /// `exec-speedup`, `stage-speedup` or `sync-speedup`.
    public var bench: String
    /// What was done, as in `ToolTiming.scenario`.
    public var scenario: String
    /// Hosts the tools worked on at this point.
    public var hosts: Int
    /// `trellis` (proxies started over ssh) or `trellis-agents`.
    public var tool: String
    /// Baseline tool → its seconds over the tool's.
    public var speedupVs: [String: Double]

    /// One line per tool in `tools`, against every baseline.
    static func lines(bench: String, scenario: String, hosts: Int, medians: [String: Double], tools: [String], baselines: [String]) -> [ToolSpeedup] {
        tools.compactMap { tool in
            guard let seconds = medians[tool], seconds > 0 else { return nil }
            var speedups: [String: Double] = [:]
            for baseline in baselines { if let theirs = medians[baseline] { speedups[baseline] = rounded(theirs / seconds, 2) } }
            return ToolSpeedup(bench: bench + "-speedup", scenario: scenario, hosts: hosts, tool: tool, speedupVs: speedups)
        }
    }
}

extension ToolTiming {
    /// The points of a comparison in the order measured (one per scenario and
    /// host count), each as the lead tool's record and every tool's seconds
    /// there (NaN for a tool not measured), for the benchmarks' tables.
    static func points(_ records: [ToolTiming], lead: String = "trellis") -> [(ToolTiming, (String) -> Double)] {
        let grouped = Dictionary(grouping: records) { "\($0.scenario) \($0.hosts)" }
        return records.filter { $0.tool == lead }.map { record in
            let point = grouped["\(record.scenario) \(record.hosts)"] ?? []
            return (record, { tool in point.first { $0.tool == tool }?.seconds ?? .nan })
        }
    }
}
