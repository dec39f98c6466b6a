import Foundation
import Glibc
import Testing

/// The MPI-IO benchmarks end to end, small: each starts its own file
/// system, runs its jobs, checks every byte it reads back, and reports its
/// workloads beside their baselines.
@Suite(.serialized) struct ParallelIOBenchJobTests {
    struct Line: Decodable {
        var bench: String
        var calls: String?
        var via: String?
        var ranks: Int?
        var bytes: Int?
        var mibPerSecond: Double
        var ratioVsEasy: Double?
        var ratioVsRomio: Double?
        var implementation: String?
    }

    private func lines(_ output: String) -> [Line] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return output.split(separator: "\n").compactMap { try? decoder.decode(Line.self, from: Data($0.utf8)) }
    }

    @Test func benchIorRunsBothWorkloadsAndComparesHardWithEasy() throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "ior", "--servers", "2", "--ranks", "3", "--mib-per-rank", "2", "--record-bytes", "4700", "--records-per-call", "8", "--json"],
            timeoutSeconds: 300)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let records = lines(outcome.output)
        #expect(records.map(\.bench) == ["ior-easy-write", "ior-easy-read"] + Array(repeating: ["ior-hard-write", "ior-hard-read"], count: 3).flatMap { $0 }, "\(outcome.combined)")
        #expect(records.map { $0.calls ?? "" } == ["independent", "independent", "collective", "collective", "collective-buffered", "collective-buffered", "independent", "independent"])
        #expect(records.allSatisfy { $0.mibPerSecond > 0 && ($0.ratioVsEasy ?? 0) > 0 && $0.ranks == 3 }, "\(outcome.output)")
        #expect(records.prefix(2).allSatisfy { $0.ratioVsEasy == 1 })
        // 2 MiB per rank in whole calls of 8 records of 4,700 bytes: 55 calls.
        #expect(records[2].bytes == 3 * 55 * 8 * 4700, "\(records[2])")
    }

    /// BT-IO through Trellis MPI-IO and through MPICH's ROMIO over the mount, same run, every byte checked by both.
    @Test(.enabled(if: getuid() == 0 && access("/dev/fuse", F_OK) == 0, "needs root and /dev/fuse: ROMIO reaches the file system through its FUSE mount"))
    func benchBtioComparesTrellisMpiIoWithRomio() throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "btio", "--servers", "2", "--ranks", "4", "--grid", "12", "--steps", "3", "--json"], timeoutSeconds: 600)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let records = lines(outcome.output)
        #expect(records.map { "\($0.bench) \($0.implementation ?? "")" } == [
            "btio-write trellis", "btio-read trellis", "btio-write romio", "btio-read romio", "btio-write trellis-mount", "btio-read trellis-mount",
        ], "\(outcome.combined)")
        #expect(records.allSatisfy { $0.mibPerSecond > 0 && ($0.ratioVsRomio ?? 0) > 0 && $0.bytes == 12 * 12 * 12 * 40 * 3 }, "\(outcome.output)")
        #expect(records.filter { $0.implementation == "romio" }.allSatisfy { $0.ratioVsRomio == 1 })
    }
}

/// `trellis report` runs the parts asked for and writes one page with their tables, plots and the machine.
@Suite struct ReportJobTests {
    @Test func theReportHoldsEachPartsTableAndTheMachine() throws {
        let page = NSTemporaryDirectory() + "report-\(UUID().uuidString).html"
        defer { try? FileManager.default.removeItem(atPath: page) }
        let outcome = try JobHarness.run([JobHarness.trellis, "report", "--quick", "--only", "ior", "--output", page], timeoutSeconds: 600)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let html = try String(contentsOfFile: page, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<h2>Machine</h2>") && html.contains("<th>cores</th>"))
        #expect(html.contains("trellis bench ior --json --mib-per-rank 32"), "the page names the command it ran")
        #expect(html.components(separatedBy: "<td class=\"text\">ior-hard-write</td>").count - 1 == 3, "a row for each kind of call")
        #expect(!html.contains("Did not run here"), "\(outcome.combined)")
        #expect(outcome.errors.contains("1 of 1 parts ran"), "\(outcome.errors)")
    }
}
