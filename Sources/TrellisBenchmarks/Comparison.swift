import Foundation
import TrellisCore
import TrellisLauncher
import TrellisRuntime
import TrellisSystem

/// `trellis bench compare`: the Trellis benchmarks and the same measurements
/// by MPICH (forced over TCP, and on its default shared-memory path), run
/// alternately `pairs` times, with the median, minimum and maximum of each
/// figure and ratios of the medians: MPICH's own figures move by 2-3x from
/// run to run on a shared machine, so one pair of runs cannot decide a ratio.
/// Trellis runs four ways: as it is (`trellis`: ranks of one host talk
/// through shared-memory lanes), forced over TCP (`trellis-tcp`,
/// `TRELLIS_TRANSPORTS=tcp`), with a cluster key (`trellis-key`: every
/// connection authenticated) and with the key and every frame sealed
/// (`trellis-key-sealed`, `TRELLIS_SEAL_LOOPBACK=1`: what frames between
/// hosts carry, and sealed frames stay on TCP), so the cost of TCP and of
/// security is measured in the same run.
public struct Comparison {
    /// The `trellis` program that runs the Trellis side.
    public let trellisExecutable: String
    /// Seconds each MPICH run may take before it is stopped (MPICH can hang in
    /// MPI_Finalize); the results it printed before are kept.
    public let mpichTimeoutSeconds: Double
    /// How many times each implementation runs, Trellis and MPICH in turn.
    public let pairs: Int

    /// A comparison with these settings.
    public init(trellisExecutable: String, mpichTimeoutSeconds: Double, pairs: Int = 5) {
        self.trellisExecutable = trellisExecutable
        self.mpichTimeoutSeconds = mpichTimeoutSeconds
        self.pairs = max(1, pairs)
    }

    struct Plan {
        let bench: String
        let ranks: Int
    }

    static let plans = [Plan(bench: "pingpong", ranks: 2), Plan(bench: "bcast", ranks: 4), Plan(bench: "allreduce", ranks: 4)]

    /// Compiles the MPI program with `mpicc.mpich`, then `pairs` times runs
    /// ping-pong (2 ranks), bcast and allreduce (4 ranks) with each Trellis
    /// variant and with MPICH over TCP and over shared memory (Trellis first
    /// in even pairs, MPICH first in odd ones), and prints the medians as
    /// `MessagingRecord`s (with their minimum and maximum) and a comparison
    /// line per point as JSON (then, with `printTable`, a table). Blocks for
    /// the whole run; throws `notSupported` when MPICH is not installed and
    /// `launchFailed` when `mpicc.mpich` fails.
    public func run(printTable: Bool) throws {
        let mpiProgram = try buildMPIProgram()
        // A key of this run's own, so that the keyed runs need none set up and leave none behind.
        let keyFile = NSTemporaryDirectory() + "trellis-bench-compare-\(getpid()).key"
        _ = try ClusterKey.generate(at: keyFile)
        defer { unlink(keyFile) }
        let trellisVariants = [
            ("trellis", ["TRELLIS_AUTH": "none"]), ("trellis-tcp", ["TRELLIS_AUTH": "none", "TRELLIS_TRANSPORTS": "tcp"]),
            ("trellis-key", ["TRELLIS_KEY_FILE": keyFile]),
            ("trellis-key-sealed", ["TRELLIS_KEY_FILE": keyFile, "TRELLIS_SEAL_LOOPBACK": "1"]),
        ]
        let mpichVariants = [("mpich-tcp", ["UCX_TLS": "tcp,self", "UCX_NET_DEVICES": "lo"]), ("mpich-shm", [String: String]())]
        var samples: [MessagingRecord] = []
        for pair in 0..<pairs {
            for plan in Self.plans {
                var runs: [() throws -> [MessagingRecord]] = []
                let trellisRuns = trellisVariants.map { (impl, environment) in
                    {
                        progress("pair \(pair + 1) of \(pairs): \(impl) \(plan.bench) on \(plan.ranks) ranks")
                        return try measure(
                            [trellisExecutable, "run", "-n", String(plan.ranks), trellisExecutable, "bench", plan.bench],
                            environment: environment, timeoutSeconds: 900, what: "\(impl) \(plan.bench)"
                        ).map { record in
                            var record = record
                            record.impl = impl
                            return record
                        }
                    }
                }
                let mpichRuns = mpichVariants.map { (impl, extra) in
                    {
                        progress("pair \(pair + 1) of \(pairs): \(impl) \(plan.bench) on \(plan.ranks) ranks")
                        var environment = extra
                        environment["BENCH_IMPL"] = impl
                        return try measure(
                            ["mpiexec.mpich", "-n", String(plan.ranks), mpiProgram, plan.bench], environment: environment,
                            timeoutSeconds: mpichTimeoutSeconds, what: "\(impl) \(plan.bench)")
                    }
                }
                runs = pair % 2 == 0 ? trellisRuns + mpichRuns : mpichRuns + trellisRuns
                for run in runs { samples += try run() }
            }
        }
        let records = MessagingRecord.medians(of: samples)
        let rows = ComparisonRow.rows(from: records)
        for record in records { record.printLine() }
        for row in rows { row.record.printLine() }
        if printTable { print(ComparisonRow.table(rows, pairs: pairs)) }
    }

    /// The ping-pong between two namespace hosts of this machine (each with
    /// its own sshd, one rank on each), Trellis (`trellis run --hosts`, over
    /// TCP: the hosts share no memory) and MPICH over TCP (Hydra over ssh,
    /// `UCX_TLS=tcp,self`) alternately `pairs` times; medians as in `run`.
    /// Needs root; throws `notSupported` naming what is missing.
    public func runBetweenHosts(printTable: Bool) throws {
        var mpiProgram = ""
        let cluster = try NamespaceCluster.forBenchmark("compare --between-hosts", count: 2, prefix: "tc") {
            mpiProgram = try buildMPIProgram()
            progress("making 2 namespace hosts with their sshds")
        }
        defer { cluster.tearDown() }
        let names = cluster.hosts.map(\.name).joined(separator: ",")
        var samples: [MessagingRecord] = []
        for pair in 0..<pairs {
            let trellisRun = {
                progress("pair \(pair + 1) of \(pairs): trellis ping-pong between 2 hosts")
                let outcome = try cluster.runAsUser(
                    on: 0,
                    [trellisExecutable, "run", "-n", "2", "--hosts", names, "--ppn", "1", "--ssh", "ssh -F \(cluster.sshConfig)", trellisExecutable, "bench", "pingpong"],
                    environment: ["TRELLIS_AUTH": "none"], timeoutSeconds: 900)
                return try self.records(outcome, what: "trellis between hosts").map { record in
                    var record = record
                    record.impl = "trellis-tcp"
                    return record
                }
            }
            let mpichRun = {
                progress("pair \(pair + 1) of \(pairs): mpich-tcp ping-pong between 2 hosts")
                let outcome = try cluster.runAsUser(
                    on: 0,
                    ["mpiexec.mpich", "-launcher", "ssh", "-launcher-exec", cluster.sshProgram, "-hosts", names, "-ppn", "1", "-n", "2", mpiProgram, "pingpong"],
                    environment: ["UCX_TLS": "tcp,self", "BENCH_IMPL": "mpich-tcp"], timeoutSeconds: mpichTimeoutSeconds)
                return try self.records(outcome, what: "mpich-tcp between hosts")
            }
            for run in pair % 2 == 0 ? [trellisRun, mpichRun] : [mpichRun, trellisRun] { samples += try run() }
        }
        let records = MessagingRecord.medians(of: samples.map { record in
            var record = record
            record.bench = "pingpong-between-hosts"
            return record
        })
        let rows = ComparisonRow.rows(from: records, anchor: "trellis-tcp")
        for record in records { record.printLine() }
        for row in rows { row.record.printLine() }
        if printTable { print(ComparisonRow.table(rows, pairs: pairs)) }
    }

    private func records(_ outcome: CommandRunner.Outcome, what: String) throws -> [MessagingRecord] {
        let records = MessagingRecord.parseLines(outcome.output)
        guard !records.isEmpty else {
            throw TrellisError(.launchFailed, "\(what) produced no results (exit \(outcome.status)): \(outcome.combined.suffix(1500))")
        }
        return records
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench compare: \(text)...")
    }

    /// Runs one benchmark command and keeps the records it printed, even
    /// when it had to be stopped after printing them (MPICH's finalize hang).
    private func measure(_ command: [String], environment: [String: String], timeoutSeconds: Double, what: String) throws -> [MessagingRecord] {
        var merged = ProcessEnvironment.current()
        for (key, value) in environment { merged[key] = value }
        let outcome = try CommandRunner.run(command, environment: merged, timeoutSeconds: timeoutSeconds)
        let records = MessagingRecord.parseLines(outcome.output)
        if outcome.timedOut { progress("\(what) was stopped after \(Int(timeoutSeconds))s; keeping the \(records.count) results it printed") }
        if records.isEmpty {
            progress("\(what) produced no results (exit \(outcome.status)): \(outcome.errors.suffix(400))")
        }
        return records
    }

    private func buildMPIProgram() throws -> String {
        try Self.buildMPIProgram("mpi_bench") { progress($0) }
    }

    /// Compiles a shipped MPI program (a resource, `NAME.c`) with MPICH's compiler into a cache folder.
    static func buildMPIProgram(_ name: String, progress: (String) -> Void) throws -> String {
        guard let source = Bundle.module.path(forResource: name, ofType: "c") else {
            throw TrellisError(.notSupported, "the MPI program \(name).c is missing from this build")
        }
        for tool in ["mpicc.mpich", "mpiexec.mpich"] where !onPath(tool) {
            throw TrellisError(.notSupported, "\(tool) is not installed; run scripts/install-system-packages.sh (Debian: mpich, libmpich-dev)")
        }
        let folder = NSTemporaryDirectory() + "trellis-bench-\(getuid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let program = folder + "/" + name
        progress("compiling \(source) with mpicc.mpich")
        let outcome = try CommandRunner.run(["mpicc.mpich", "-O2", "-o", program, source], timeoutSeconds: 300)
        guard outcome.status == 0 else {
            throw TrellisError(.launchFailed, "mpicc.mpich failed on \(source): \(outcome.combined)")
        }
        return program
    }

    static func onPath(_ tool: String) -> Bool {
        let path = ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    }
}

/// One benchmark point with Trellis and each MPICH variant.
struct ComparisonRow {
    let bench: String
    let bytes: Int
    let ranks: Int
    let trellis: MessagingRecord
    /// Trellis with a cluster key: authenticated connections (unsealed frames on one host).
    let keyed: MessagingRecord?
    /// Trellis with a cluster key and every frame sealed, as between hosts.
    let sealed: MessagingRecord?
    let tcp: MessagingRecord?
    let shm: MessagingRecord?
    /// Trellis forced over TCP, set against MPICH over TCP.
    var trellisTCP: MessagingRecord? = nil

    /// A row per point of `anchor`'s records (Trellis as it runs by default).
    static func rows(from records: [MessagingRecord], anchor: String = "trellis") -> [ComparisonRow] {
        records.filter { $0.impl == anchor }.map { mine in
            func other(_ impl: String) -> MessagingRecord? {
                records.first { $0.impl == impl && $0.bench == mine.bench && $0.bytes == mine.bytes && $0.ranks == mine.ranks }
            }
            return ComparisonRow(
                bench: mine.bench, bytes: mine.bytes, ranks: mine.ranks, trellis: mine, keyed: other("trellis-key"), sealed: other("trellis-key-sealed"), tcp: other("mpich-tcp"),
                shm: other("mpich-shm"), trellisTCP: other("trellis-tcp"))
        }
    }

    /// Trellis's latency over MPICH's: below 1 is faster.
    static func latencyRatio(_ mine: MessagingRecord, _ theirs: MessagingRecord?) -> Double? {
        guard let theirs, theirs.latencyMicroseconds > 0 else { return nil }
        return mine.latencyMicroseconds / theirs.latencyMicroseconds
    }

    /// Trellis's bandwidth over MPICH's: above 1 is faster.
    static func bandwidthRatio(_ mine: MessagingRecord, _ theirs: MessagingRecord?) -> Double? {
        guard let theirs, theirs.bandwidthMegabytesPerSecond > 0 else { return nil }
        return mine.bandwidthMegabytesPerSecond / theirs.bandwidthMegabytesPerSecond
    }

    /// The row as a line of its own.
    var record: MessagingComparisonRecord {
        var row = MessagingComparisonRecord(bench: bench + "-comparison", bytes: bytes, ranks: ranks)
        for (impl, figure) in [
            ("trellis", trellis), ("trellis-tcp", trellisTCP), ("trellis-key", keyed), ("trellis-key-sealed", sealed), ("mpich-tcp", tcp), ("mpich-shm", shm),
        ] {
            guard let figure else { continue }
            row.latencyMicrosecondsByImpl[impl] = figure.latencyMicroseconds
            row.bandwidthMegabytesPerSecondByImpl[impl] = figure.bandwidthMegabytesPerSecond
            guard impl.hasPrefix("mpich") else { continue }
            row.latencyRatioVs[impl] = Self.latencyRatio(trellis, figure).map { rounded($0, 3) }
            row.bandwidthRatioVs[impl] = Self.bandwidthRatio(trellis, figure).map { rounded($0, 3) }
        }
        if let trellisTCP {
            row.tcpLatencyRatioVsMPICHTCP = Self.latencyRatio(trellisTCP, tcp).map { rounded($0, 3) }
            row.tcpBandwidthRatioVsMPICHTCP = Self.bandwidthRatio(trellisTCP, tcp).map { rounded($0, 3) }
        }
        if let keyed {
            row.keyLatencyCost = Self.latencyRatio(keyed, trellis).map { rounded($0, 3) }
            row.keyBandwidthCost = Self.bandwidthRatio(keyed, trellis).map { rounded($0, 3) }
        }
        if let sealed {
            row.sealedLatencyCost = Self.latencyRatio(sealed, trellis).map { rounded($0, 3) }
            row.sealedBandwidthCost = Self.bandwidthRatio(sealed, trellis).map { rounded($0, 3) }
        }
        return row
    }

    static func table(_ rows: [ComparisonRow], pairs: Int = 1) -> String {
        func cell(_ record: MessagingRecord?) -> String {
            guard let record else { return "-" }
            let small = record.bytes <= 65536
            let value = small ? "\(format(record.latencyMicroseconds, 2)) us" : "\(format(record.bandwidthMegabytesPerSecond, 0)) MB/s"
            guard let low = record.minimumLatencyMicroseconds, let high = record.maximumLatencyMicroseconds, record.samples ?? 1 > 1 else { return value }
            let range = small
                ? "\(format(low, 2))-\(format(high, 2))"
                : "\(format(Double(record.bytes) / high, 0))-\(format(Double(record.bytes) / low, 0))"
            return "\(value) (\(range))"
        }
        func ratio(_ mine: MessagingRecord?, _ other: MessagingRecord?) -> String {
            guard let mine else { return "-" }
            let value = mine.bytes <= 65536 ? latencyRatio(mine, other) : bandwidthRatio(mine, other)
            return value.map { format($0, 2) + "x" } ?? "-"
        }
        func cost(_ row: ComparisonRow, _ secured: MessagingRecord?) -> String {
            guard let secured else { return "-" }
            let value = row.bytes <= 65536 ? latencyRatio(secured, row.trellis) : bandwidthRatio(secured, row.trellis)
            return value.map { format($0, 2) + "x" } ?? "-"
        }
        var table = TextTable([
            "bench", "bytes", "ranks", "trellis", "mpich-shm", "ratio", "trellis-tcp", "mpich-tcp", "ratio", "with key", "cost", "sealed", "cost",
        ])
        for row in rows {
            table.append([
                row.bench, String(row.bytes), String(row.ranks), cell(row.trellis), cell(row.shm), ratio(row.trellis, row.shm),
                cell(row.trellisTCP), cell(row.tcp), ratio(row.trellisTCP, row.tcp), cell(row.keyed), cost(row, row.keyed), cell(row.sealed), cost(row, row.sealed),
            ])
        }
        return """

            (medians of \(pairs) alternating run\(pairs == 1 ? "" : "s") each, minimum-maximum in brackets; small sizes compare \
            latency, trellis/mpich; large sizes compare bandwidth, trellis/mpich; "trellis": ranks of one host through \
            shared-memory lanes; "trellis-tcp": every frame over TCP, against MPICH over TCP; "with key": every \
            connection authenticated; "sealed": every frame sealed too, as between hosts (and so over TCP); \
            their costs are over trellis without a key)

            """ + table.text
    }
}

/// One point of `trellis bench compare`: Trellis beside MPICH over TCP and
/// over shared memory, each figure by implementation (`trellis`,
/// `mpich-tcp`, `mpich-shm`), and Trellis's figure over each MPICH's: a
/// latency ratio below 1, or a bandwidth ratio above 1, favours Trellis.
struct MessagingComparisonRecord: BenchmarkRecord {
    var bench: String
    var bytes: Int
    var ranks: Int
    var latencyMicrosecondsByImpl: [String: Double] = [:]
    var bandwidthMegabytesPerSecondByImpl: [String: Double] = [:]
    var latencyRatioVs: [String: Double] = [:]
    var bandwidthRatioVs: [String: Double] = [:]
    /// Trellis forced over TCP over MPICH over TCP.
    var tcpLatencyRatioVsMPICHTCP: Double?
    var tcpBandwidthRatioVsMPICHTCP: Double?
    /// Trellis with a key over Trellis without: the cost of authentication (ranks on one host: no seals).
    var keyLatencyCost: Double?
    var keyBandwidthCost: Double?
    /// Trellis with a key and every frame sealed over Trellis without: what frames between hosts cost.
    var sealedLatencyCost: Double?
    var sealedBandwidthCost: Double?
}
