import Foundation
import TrellisCore
import TrellisLauncher
import TrellisRuntime
import TrellisSystem

/// `trellis bench compare`: the Trellis benchmarks and the same measurements
/// by MPICH (forced over TCP, and on its default shared-memory path), in one
/// run, side by side with ratios. Trellis runs three times: without a key
/// (`trellis`), with a cluster key (`trellis-key`: every connection
/// authenticated; these ranks share a host, so their frames go unsealed),
/// and with the key and every frame sealed (`trellis-key-sealed`,
/// `TRELLIS_SEAL_LOOPBACK=1`: what frames between hosts carry), so the
/// cost of security is measured in the same run.
public struct Comparison {
    /// The `trellis` program that runs the Trellis side.
    public let trellisExecutable: String
    /// Seconds each MPICH run may take before it is stopped (MPICH can hang in
    /// MPI_Finalize); the results it printed before are kept.
    public let mpichTimeoutSeconds: Double

    /// A comparison with these settings.
    public init(trellisExecutable: String, mpichTimeoutSeconds: Double) {
        self.trellisExecutable = trellisExecutable
        self.mpichTimeoutSeconds = mpichTimeoutSeconds
    }

    struct Plan {
        let bench: String
        let ranks: Int
    }

    static let plans = [Plan(bench: "pingpong", ranks: 2), Plan(bench: "bcast", ranks: 4), Plan(bench: "allreduce", ranks: 4)]

    /// Compiles the MPI program with `mpicc.mpich`, runs ping-pong (2 ranks),
    /// bcast and allreduce (4 ranks) with Trellis and with MPICH over TCP and over
    /// shared memory, and prints every `MessagingRecord` and a comparison line per
    /// point as JSON (then, with `printTable`, a table). Blocks for the whole run;
    /// throws `notSupported` when MPICH is not installed and `launchFailed` when
    /// `mpicc.mpich` fails.
    public func run(printTable: Bool) throws {
        let mpiProgram = try buildMPIProgram()
        // A key of this run's own, so that the keyed runs need none set up and leave none behind.
        let keyFile = NSTemporaryDirectory() + "trellis-bench-compare-\(getpid()).key"
        _ = try ClusterKey.generate(at: keyFile)
        defer { unlink(keyFile) }
        var records: [MessagingRecord] = []
        for plan in Self.plans {
            let variants = [
                ("trellis", ["TRELLIS_AUTH": "none"]), ("trellis-key", ["TRELLIS_KEY_FILE": keyFile]),
                ("trellis-key-sealed", ["TRELLIS_KEY_FILE": keyFile, "TRELLIS_SEAL_LOOPBACK": "1"]),
            ]
            for (impl, environment) in variants {
                progress("\(impl) \(plan.bench) on \(plan.ranks) ranks")
                records += try measure(
                    [trellisExecutable, "run", "-n", String(plan.ranks), trellisExecutable, "bench", plan.bench],
                    environment: environment, timeoutSeconds: 900, what: "\(impl) \(plan.bench)"
                ).map { record in
                    var record = record
                    record.impl = impl
                    return record
                }
            }
            for (impl, extra) in [("mpich-tcp", ["UCX_TLS": "tcp,self", "UCX_NET_DEVICES": "lo"]), ("mpich-shm", [:])] {
                progress("\(impl) \(plan.bench) on \(plan.ranks) ranks")
                var environment = extra
                environment["BENCH_IMPL"] = impl
                records += try measure(
                    ["mpiexec.mpich", "-n", String(plan.ranks), mpiProgram, plan.bench], environment: environment,
                    timeoutSeconds: mpichTimeoutSeconds, what: "\(impl) \(plan.bench)")
            }
        }
        let rows = ComparisonRow.rows(from: records)
        for record in records { record.printLine() }
        for row in rows { row.record.printLine() }
        if printTable { print(ComparisonRow.table(rows)) }
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("bench compare: \(text)...\n".utf8))
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

    static func rows(from records: [MessagingRecord]) -> [ComparisonRow] {
        records.filter { $0.impl == "trellis" }.map { mine in
            func other(_ impl: String) -> MessagingRecord? {
                records.first { $0.impl == impl && $0.bench == mine.bench && $0.bytes == mine.bytes && $0.ranks == mine.ranks }
            }
            return ComparisonRow(
                bench: mine.bench, bytes: mine.bytes, ranks: mine.ranks, trellis: mine, keyed: other("trellis-key"), sealed: other("trellis-key-sealed"), tcp: other("mpich-tcp"),
                shm: other("mpich-shm"))
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
        for (impl, figure) in [("trellis", trellis), ("trellis-key", keyed), ("trellis-key-sealed", sealed), ("mpich-tcp", tcp), ("mpich-shm", shm)] {
            guard let figure else { continue }
            row.latencyMicrosecondsByImpl[impl] = figure.latencyMicroseconds
            row.bandwidthMegabytesPerSecondByImpl[impl] = figure.bandwidthMegabytesPerSecond
            guard impl.hasPrefix("mpich") else { continue }
            row.latencyRatioVs[impl] = Self.latencyRatio(trellis, figure).map { rounded($0, 3) }
            row.bandwidthRatioVs[impl] = Self.bandwidthRatio(trellis, figure).map { rounded($0, 3) }
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

    static func table(_ rows: [ComparisonRow]) -> String {
        func cell(_ record: MessagingRecord?) -> String {
            guard let record else { return "-" }
            return record.bytes <= 65536 ? "\(format(record.latencyMicroseconds, 2)) us" : "\(format(record.bandwidthMegabytesPerSecond, 0)) MB/s"
        }
        func ratio(_ row: ComparisonRow, _ other: MessagingRecord?) -> String {
            let value = row.bytes <= 65536 ? latencyRatio(row.trellis, other) : bandwidthRatio(row.trellis, other)
            return value.map { format($0, 2) + "x" } ?? "-"
        }
        func cost(_ row: ComparisonRow, _ secured: MessagingRecord?) -> String {
            guard let secured else { return "-" }
            let value = row.bytes <= 65536 ? latencyRatio(secured, row.trellis) : bandwidthRatio(secured, row.trellis)
            return value.map { format($0, 2) + "x" } ?? "-"
        }
        var table = TextTable(["bench", "bytes", "ranks", "trellis", "with key", "ratio", "sealed", "ratio", "mpich-tcp", "ratio", "mpich-shm", "ratio"])
        for row in rows {
            table.append([
                row.bench, String(row.bytes), String(row.ranks), cell(row.trellis), cell(row.keyed), cost(row, row.keyed), cell(row.sealed), cost(row, row.sealed),
                cell(row.tcp), ratio(row, row.tcp), cell(row.shm), ratio(row, row.shm),
            ])
        }
        return """

            (small sizes compare latency, trellis/mpich; large sizes compare bandwidth, trellis/mpich; \
            "with key": every connection authenticated, frames unsealed between ranks of one host; \
            "sealed": every frame sealed too, as between hosts; both over trellis without a key)

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
    /// Trellis with a key over Trellis without: the cost of authentication (ranks on one host: no seals).
    var keyLatencyCost: Double?
    var keyBandwidthCost: Double?
    /// Trellis with a key and every frame sealed over Trellis without: what frames between hosts cost.
    var sealedLatencyCost: Double?
    var sealedBandwidthCost: Double?
}
