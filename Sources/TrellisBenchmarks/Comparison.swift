import Foundation
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis bench compare`: the Trellis benchmarks and the same measurements
/// by MPICH (forced over TCP, and on its default shared-memory path), in one
/// run, side by side with ratios.
public struct Comparison {
    public let trellisExecutable: String
    public let mpichTimeoutSeconds: Double

    public init(trellisExecutable: String, mpichTimeoutSeconds: Double) {
        self.trellisExecutable = trellisExecutable
        self.mpichTimeoutSeconds = mpichTimeoutSeconds
    }

    struct Plan {
        let bench: String
        let ranks: Int
    }

    static let plans = [Plan(bench: "pingpong", ranks: 2), Plan(bench: "bcast", ranks: 4), Plan(bench: "allreduce", ranks: 4)]

    public func run(printTable: Bool) throws {
        let mpiProgram = try buildMPIProgram()
        var records: [BenchmarkRecord] = []
        for plan in Self.plans {
            progress("trellis \(plan.bench) on \(plan.ranks) ranks")
            records += try measure(
                [trellisExecutable, "run", "-n", String(plan.ranks), trellisExecutable, "bench", plan.bench],
                environment: [:], timeoutSeconds: 900, what: "trellis \(plan.bench)")
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
        for record in records { print(record.json) }
        for row in rows { print(row.json) }
        if printTable { print(ComparisonRow.table(rows)) }
    }

    private func progress(_ text: String) {
        FileHandle.standardError.write(Data("bench compare: \(text)...\n".utf8))
    }

    /// Runs one benchmark command and keeps the records it printed, even
    /// when it had to be stopped after printing them (MPICH's finalize hang).
    private func measure(_ command: [String], environment: [String: String], timeoutSeconds: Double, what: String) throws -> [BenchmarkRecord] {
        var merged = ProcessEnvironment.current()
        for (key, value) in environment { merged[key] = value }
        let outcome = try CommandRunner.run(command, environment: merged, timeoutSeconds: timeoutSeconds)
        let records = outcome.output.split(separator: "\n").compactMap(BenchmarkRecord.parse)
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
    let trellis: BenchmarkRecord
    let tcp: BenchmarkRecord?
    let shm: BenchmarkRecord?

    static func rows(from records: [BenchmarkRecord]) -> [ComparisonRow] {
        records.filter { $0.impl == "trellis" }.map { mine in
            func other(_ impl: String) -> BenchmarkRecord? {
                records.first { $0.impl == impl && $0.bench == mine.bench && $0.bytes == mine.bytes && $0.ranks == mine.ranks }
            }
            return ComparisonRow(bench: mine.bench, bytes: mine.bytes, ranks: mine.ranks, trellis: mine, tcp: other("mpich-tcp"), shm: other("mpich-shm"))
        }
    }

    /// Trellis's latency over MPICH's: below 1 is faster.
    static func latencyRatio(_ mine: BenchmarkRecord, _ theirs: BenchmarkRecord?) -> Double? {
        guard let theirs, theirs.latencyMicroseconds > 0 else { return nil }
        return mine.latencyMicroseconds / theirs.latencyMicroseconds
    }

    /// Trellis's bandwidth over MPICH's: above 1 is faster.
    static func bandwidthRatio(_ mine: BenchmarkRecord, _ theirs: BenchmarkRecord?) -> Double? {
        guard let theirs, theirs.bandwidthMBps > 0 else { return nil }
        return mine.bandwidthMBps / theirs.bandwidthMBps
    }

    var json: String {
        func value(_ number: Double?, _ digits: Int) -> String { number.map { format($0, digits) } ?? "null" }
        return "{\"bench\":\"\(bench)-comparison\",\"bytes\":\(bytes),\"ranks\":\(ranks),"
            + "\"trellis_latency_us\":\(format(trellis.latencyMicroseconds, 3)),\"trellis_bandwidth_MBps\":\(format(trellis.bandwidthMBps, 1)),"
            + "\"mpich_tcp_latency_us\":\(value(tcp?.latencyMicroseconds, 3)),\"mpich_shm_latency_us\":\(value(shm?.latencyMicroseconds, 3)),"
            + "\"latency_ratio_vs_mpich_tcp\":\(value(Self.latencyRatio(trellis, tcp), 3)),"
            + "\"bandwidth_ratio_vs_mpich_tcp\":\(value(Self.bandwidthRatio(trellis, tcp), 3)),"
            + "\"latency_ratio_vs_mpich_shm\":\(value(Self.latencyRatio(trellis, shm), 3)),"
            + "\"bandwidth_ratio_vs_mpich_shm\":\(value(Self.bandwidthRatio(trellis, shm), 3))}"
    }

    static func table(_ rows: [ComparisonRow]) -> String {
        func pad(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        func cell(_ record: BenchmarkRecord?) -> String {
            guard let record else { return "-" }
            return record.bytes <= 65536 ? "\(format(record.latencyMicroseconds, 2)) us" : "\(format(record.bandwidthMBps, 0)) MB/s"
        }
        func ratio(_ row: ComparisonRow, _ other: BenchmarkRecord?) -> String {
            let value = row.bytes <= 65536 ? latencyRatio(row.trellis, other) : bandwidthRatio(row.trellis, other)
            return value.map { format($0, 2) + "x" } ?? "-"
        }
        var lines = ["", "bench      bytes       ranks   trellis        mpich-tcp      ratio   mpich-shm      ratio",
                     "(small sizes compare latency, trellis/mpich; large sizes compare bandwidth, trellis/mpich)"]
        for row in rows {
            lines.append(
                row.bench.padding(toLength: 10, withPad: " ", startingAt: 0) + pad(String(row.bytes), 10) + pad(String(row.ranks), 8)
                    + pad(cell(row.trellis), 15) + pad(cell(row.tcp), 15) + pad(ratio(row, row.tcp), 8)
                    + pad(cell(row.shm), 15) + pad(ratio(row, row.shm), 8))
        }
        return lines.joined(separator: "\n")
    }
}
