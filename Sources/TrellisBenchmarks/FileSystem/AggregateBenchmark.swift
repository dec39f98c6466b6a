import Glibc
import ArgumentParser
import Foundation
import TrellisFSClient
import TrellisFSProtocol

/// `trellis bench aggregate`: create, stat and remove of files striped over
/// every server, done by the servers as aggregate operations (one request,
/// a tree among the servers) and by the client step by step, at 1 to N
/// servers (Fig. 4 of the persistent-services paper, Latham, Ross and
/// Thakur, "Can MPI Be Used for Persistent Parallel Services?": O(log N)
/// against O(N) time steps).
public struct AggregateBenchmark: ProgramBenchmark {
    /// A benchmark at the default settings (`trellis bench` sets them from its options).
    public init() {}

    @Option(help: "The largest file system measured (it measures 1, 2, 4, ... up to this many servers, at most 64).") var maxServers = 8
    @Option(name: .customLong("servers"), parsing: .upToNextOption, help: "The server counts measured, instead of the powers of two up to --max-servers.")
    var serverCounts: [Int] = []
    @Option(help: "Files per operation and mode; the figures are means over them.") var files = 50
    @Option(help: "Write an SVG plot of milliseconds per operation against servers, a line per operation and mode (the paper's Fig. 4), here.")
    var plot: String?
    @OptionGroup var data: BenchFolder

    /// Refuses sizes outside 1 to 64 servers and no files.
    public func validate() throws {
        guard maxServers >= 1, maxServers <= 64, files >= 1 else { throw ValidationError("--max-servers must be 1...64 and --files positive") }
        guard serverCounts.allSatisfy({ (1...64).contains($0) }) else { throw ValidationError("--servers takes counts from 1 to 64") }
    }

    /// The sizes measured: `--servers`, or 1, 2, 4, ... up to `--max-servers` (and it).
    var sizes: [Int] {
        if !serverCounts.isEmpty { return serverCounts }
        let powers = sequence(first: 1) { $0 * 2 }.prefix { $0 <= maxServers }
        return Array(Set(powers + [maxServers])).sorted()
    }

    /// The client doing every step over the servers doing it, for one operation at one size.
    struct Speedup: BenchmarkRecord {
        var bench = "aggregate-speedup"
        var op: String
        var servers: Int
        /// Client-driven milliseconds over aggregate milliseconds, measured here (above 1: the aggregate path is faster).
        var clientOverAggregate: Double
        /// The same from the paper's message schedule, each time step costing
        /// what one message through the client's link costs here (see `Calibration`).
        var modeledClientOverAggregate: Double
        /// Milliseconds one message through the client's link costs, fitted from the client-driven measurements.
        var perMessageMilliseconds: Double
    }

    /// One machine cannot show what the paper's figure shows: its servers
    /// share two cores, so the tree's hops cost as much as the client's
    /// messages, where on a cluster each server has a node and the client's
    /// link is what fills up. The modeled times take the measured cost of a
    /// message through the client's link (the slope of the client-driven
    /// times against their messages, fitted over every size) as the cost of
    /// one time step of the paper's schedule, plus the fitted fixed cost.
    struct Calibration {
        let fixedMilliseconds: Double
        let perMessageMilliseconds: Double

        init(_ points: [(messages: Double, milliseconds: Double)]) {
            let count = Double(points.count)
            let meanX = points.reduce(0) { $0 + $1.messages } / count
            let meanY = points.reduce(0) { $0 + $1.milliseconds } / count
            let spread = points.reduce(0) { $0 + ($1.messages - meanX) * ($1.messages - meanX) }
            let slope = spread > 0 ? points.reduce(0) { $0 + ($1.messages - meanX) * ($1.milliseconds - meanY) } / spread : 0
            perMessageMilliseconds = max(slope, 1e-6)
            fixedMilliseconds = max(meanY - perMessageMilliseconds * meanX, 0)
        }

        func milliseconds(steps: Double) -> Double { fixedMilliseconds + perMessageMilliseconds * steps }
    }

    /// One operation at one size, in one mode; figures are per operation.
    struct Record: BenchmarkRecord {
        var bench = "aggregate"
        /// `create`, `stat` or `remove`.
        var op: String
        var servers: Int
        /// `aggregate` (one request, the servers fan out) or `client` (the client does each step).
        var mode: String
        /// Messages crossing the client's link.
        var messages: Double
        /// Message time steps on the critical path.
        var steps: Double
        var milliseconds: Double
    }

    /// Starts a file system at each size, times create, stat and remove both
    /// ways, and prints a JSON line per operation, size and mode with the messages,
    /// critical-path steps and milliseconds per operation (then a table on a
    /// terminal). Throws `BenchmarkFailure` for a file made with
    /// the wrong number of datafiles.
    public func run(executable: String) throws {
        let site = try data.open("aggregate")
        defer { site.close() }
        try site.startNameService(executable: executable)
        var records: [Record] = []
        for servers in sizes {
            // Without precreate pools, so an aggregate create shows its fan-out tree (a pooled create fans out nothing).
            let system = try TemporaryFileSystem(name: "aggregate\(servers)", servers: servers, folder: "\(site.folder)/\(servers)", executable: executable, precreateBatch: 0)
            defer { system.stop() }
            let fs = try FileSystemClient.connect(name: system.name)
            defer { fs.close() }
            let stepwise = StepwiseOperations(fs)
            for mode in ["aggregate", "client"] {
                let aggregate = mode == "aggregate"
                let directory = try fs.makeDirectory("/\(mode)")
                var made: [ObjectAttributes] = []
                let fileNames = (0..<files).map { "file\($0)" }
                records.append(try measure("create", servers, mode, fs) {
                    for name in fileNames {
                        made.append(aggregate ? try fs.createFile(in: directory, named: name, stuffed: false) : try stepwise.createFile(in: directory, named: name))
                    }
                })
                guard made.allSatisfy({ $0.datafiles.count == servers }) else {
                    throw BenchmarkFailure("a file made at \(servers) servers does not have \(servers) datafiles")
                }
                records.append(try measure("stat", servers, mode, fs) {
                    for file in made { _ = aggregate ? try fs.stat(handle: file.handle) : try stepwise.stat(handle: file.handle) }
                })
                records.append(try measure("remove", servers, mode, fs) {
                    for (file, name) in zip(made, fileNames) {
                        try aggregate ? fs.removeFile(file, named: name, in: directory.handle) : stepwise.removeFile(file, named: name, in: directory.handle)
                    }
                })
            }
            for record in records.suffix(6) { record.printLine() }
        }
        var modeled: [String: [(x: Double, y: Double)]] = [:]
        for op in ["create", "stat", "remove"] {
            let calibration = Calibration(records.filter { $0.op == op && $0.mode == "client" }.map { ($0.messages, $0.milliseconds) })
            for servers in sizes {
                guard let aggregate = records.first(where: { $0.op == op && $0.servers == servers && $0.mode == "aggregate" }),
                      let client = records.first(where: { $0.op == op && $0.servers == servers && $0.mode == "client" })
                else { continue }
                let (aggregateModel, clientModel) = (calibration.milliseconds(steps: aggregate.steps), calibration.milliseconds(steps: client.steps))
                modeled["\(op), aggregate, modeled", default: []].append((Double(servers), aggregateModel))
                modeled["\(op), client-driven, modeled", default: []].append((Double(servers), clientModel))
                Speedup(
                    op: op, servers: servers, clientOverAggregate: rounded(client.milliseconds / max(aggregate.milliseconds, 1e-9), 3),
                    modeledClientOverAggregate: rounded(clientModel / aggregateModel, 3), perMessageMilliseconds: rounded(calibration.perMessageMilliseconds, 4)
                ).printLine()
            }
        }
        if isatty(STDOUT_FILENO) == 1 { printTable(records) }
        if let plot {
            try SeriesPlot(
                title: "Aggregate operations against the client doing each step (Latham, Ross and Thakur, Fig. 4), measured",
                xLabel: "servers", yLabel: "milliseconds per operation",
                series: Dictionary(grouping: records) { "\($0.op), \($0.mode == "aggregate" ? "aggregate (servers' tree)" : "client-driven")" }
                    .mapValues { $0.map { (Double($0.servers), $0.milliseconds) } }.merging(modeled) { measured, _ in measured }
            ).write(to: plot)
            BenchmarkOutput.progress("bench aggregate: plot written to \(plot)")
        }
    }

    private func measure(_ op: String, _ servers: Int, _ mode: String, _ fs: FileSystemClient, _ body: () throws -> Void) throws -> Record {
        let before = fs.traffic
        let seconds = try timedSeconds(body)
        let used = fs.traffic.since(before)
        let count = Double(files)
        return Record(op: op, servers: servers, mode: mode, messages: rounded(Double(used.messages) / count, 2), steps: rounded(Double(used.steps) / count, 2),
            milliseconds: rounded(seconds * 1000 / count, 3))
    }

    private func printTable(_ records: [Record]) {
        var table = TextTable(["op", "servers", "aggregate msgs", "steps", "ms", "client msgs", "steps", "ms"])
        for op in ["create", "stat", "remove"] {
            for servers in Set(records.map(\.servers)).sorted() {
                guard let aggregate = records.first(where: { $0.op == op && $0.servers == servers && $0.mode == "aggregate" }),
                      let client = records.first(where: { $0.op == op && $0.servers == servers && $0.mode == "client" })
                else { continue }
                table.append([
                    op, String(servers), format(aggregate.messages, 0), format(aggregate.steps, 0), format(aggregate.milliseconds, 2),
                    format(client.messages, 0), format(client.steps, 0), format(client.milliseconds, 2),
                ])
            }
        }
        print("\n" + table.text)
    }
}
