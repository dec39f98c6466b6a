import Foundation
import Testing
@testable import TrellisBenchmarks

/// Every benchmark line is written by one encoder: snake_case keys, sorted,
/// rounded figures, nothing for what was not measured.
@Suite struct BenchmarkRecordTests {
    @Test func aRecordIsOneLineOfSortedSnakeCaseKeysWithRoundedFigures() {
        let record = MessagingRecord(bench: "pingpong", impl: "trellis", bytes: 1 << 20, ranks: 2, iterations: 10, latencyMicroseconds: 243.123456)
        #expect(
            record.jsonLine
                == #"{"bandwidth_megabytes_per_second":4312.9,"bench":"pingpong","bytes":1048576,"impl":"trellis","iterations":10,"latency_microseconds":243.123,"ranks":2}"#)
        #expect(MessagingRecord.parse(record.jsonLine) == record)
    }

    @Test func theMPICHProgramsLinesReadAsTheSameRecord() throws {
        // The format string of mpi_bench.c, which bench compare reads back.
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/TrellisBenchmarks/Resources/mpi_bench.c").path
        let source = try String(contentsOfFile: path, encoding: .utf8)
        #expect(source.contains(#"\"latency_microseconds\":%.3f,\"bandwidth_megabytes_per_second\":%.1f"#))
        let line = #"{"bench":"bcast","impl":"mpich-shm","bytes":67108864,"ranks":4,"iterations":10,"latency_microseconds":45210.250,"bandwidth_megabytes_per_second":1484.4}"#
        let record = try #require(MessagingRecord.parse(line))
        #expect(record.impl == "mpich-shm" && record.latencyMicroseconds == 45210.25 && record.bandwidthMegabytesPerSecond == 1484.4)
        #expect(MessagingRecord.parseLines("progress\n" + line + "\n{\"bench\":\"other\"}\n").count == 1)
    }

    @Test func missingFiguresAreLeftOutAndNonFiniteOnesAreNamed() {
        let timing = ToolTiming(bench: "exec", scenario: "true", tool: "pdsh", hosts: 4, seconds: 0.123456789)
        #expect(timing.jsonLine == #"{"bench":"exec","hosts":4,"scenario":"true","seconds":0.1235,"tool":"pdsh"}"#)
        let staged = ToolTiming(bench: "stage", scenario: "large", tool: "trellis", hosts: 2, seconds: 2, bytes: 1 << 30)
        #expect(staged.aggregateMibPerSecond == 1024 && staged.jsonLine.contains(#""aggregate_mib_per_second":1024"#))
        let ratio = LaunchBenchmark.Ratio(hosts: 1, ranksPerHost: 1, readyRatioVsHydra: .infinity, endRatioVsHydra: 1)
        #expect(ratio.jsonLine.contains(#""ready_ratio_vs_hydra":"inf""#))
    }

    @Test func toolsTakeTurnsGoingFirstAndEachKeepsItsMedian() {
        var order: [String] = []
        var run = 0
        let medians = ToolTrials(tools: ["a", "b", "c"], repetitions: 3).medians { tool, _ in
            order.append(tool)
            run += 1
            return ["only": Double(run)]
        }
        #expect(order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"])
        #expect(medians == ["only": ["a": 6, "b": 4, "c": 5]])
        let speedups = ToolSpeedup.lines(bench: "exec", scenario: "true", hosts: 2, medians: ["a": 2, "b": 4, "c": 1], tools: ["a"], baselines: ["b", "c"])
        #expect(speedups.count == 1 && speedups[0].speedupVs == ["b": 2, "c": 0.5])
        #expect(speedups[0].jsonLine == #"{"bench":"exec-speedup","hosts":2,"scenario":"true","speedup_vs":{"b":2,"c":0.5},"tool":"a"}"#)
    }

    @Test func aComparisonRowHoldsEachImplementationAndTrellisOverEachMPICH() {
        let records = [
            MessagingRecord(bench: "pingpong", impl: "trellis", bytes: 8, ranks: 2, iterations: 1, latencyMicroseconds: 10),
            MessagingRecord(bench: "pingpong", impl: "mpich-tcp", bytes: 8, ranks: 2, iterations: 1, latencyMicroseconds: 5),
        ]
        let rows = ComparisonRow.rows(from: records)
        #expect(rows.count == 1)
        let row = rows[0].record
        #expect(row.bench == "pingpong-comparison" && row.latencyMicrosecondsByImpl == ["trellis": 10, "mpich-tcp": 5])
        #expect(row.latencyRatioVs == ["mpich-tcp": 2] && row.bandwidthRatioVs == ["mpich-tcp": 0.5], "no MPICH shared-memory figure, so no ratio to it")
        #expect(row.jsonLine.contains(#""latency_ratio_vs":{"mpich-tcp":2}"#), "\(row.jsonLine)")
        #expect(row.keyLatencyCost == nil, "no keyed run, so no cost of the key")
    }

    /// Alternating runs become one record per implementation and point: the
    /// median, with the count, minimum and maximum; ratios use the medians.
    @Test func comparedRunsAreSummedUpByTheirMedians() {
        let runs = [3.0, 40, 5, 4, 6].map { MessagingRecord(bench: "pingpong", impl: "trellis", bytes: 8, ranks: 2, iterations: 1, latencyMicroseconds: $0) }
            + [2.0, 1, 2.5].map { MessagingRecord(bench: "pingpong", impl: "mpich-shm", bytes: 8, ranks: 2, iterations: 1, latencyMicroseconds: $0) }
            + [MessagingRecord(bench: "pingpong", impl: "trellis-tcp", bytes: 8, ranks: 2, iterations: 1, latencyMicroseconds: 6)]
            + [MessagingRecord(bench: "pingpong", impl: "mpich-tcp", bytes: 8, ranks: 2, iterations: 1, latencyMicroseconds: 12)]
        let medians = MessagingRecord.medians(of: runs)
        #expect(medians.map(\.impl) == ["trellis", "mpich-shm", "trellis-tcp", "mpich-tcp"])
        #expect(medians[0].latencyMicroseconds == 5 && medians[0].samples == 5)
        #expect(medians[0].minimumLatencyMicroseconds == 3 && medians[0].maximumLatencyMicroseconds == 40)
        #expect(medians[0].jsonLine.contains(#""maximum_latency_microseconds":40"#), "\(medians[0].jsonLine)")
        let row = ComparisonRow.rows(from: medians)[0]
        #expect(row.record.latencyRatioVs["mpich-shm"] == 2.5, "5 us over 2 us")
        #expect(row.record.tcpLatencyRatioVsMPICHTCP == 0.5, "Trellis over TCP against MPICH over TCP")
        #expect(ComparisonRow.table([row], pairs: 5).contains("5.00 us (3.00-40.00)"), "\(ComparisonRow.table([row], pairs: 5))")
    }

    @Test func aComparisonRowPricesTheKeyAgainstTrellisWithoutOne() {
        let records = [
            MessagingRecord(bench: "pingpong", impl: "trellis", bytes: 1 << 20, ranks: 2, iterations: 1, latencyMicroseconds: 400),
            MessagingRecord(bench: "pingpong", impl: "trellis-key", bytes: 1 << 20, ranks: 2, iterations: 1, latencyMicroseconds: 500),
            MessagingRecord(bench: "pingpong", impl: "trellis-key-sealed", bytes: 1 << 20, ranks: 2, iterations: 1, latencyMicroseconds: 800),
        ]
        let rows = ComparisonRow.rows(from: records)
        #expect(rows.count == 1, "the keyed runs are columns of the plain run's row, not rows of their own")
        let row = rows[0].record
        #expect(row.keyLatencyCost == 1.25 && row.keyBandwidthCost == 0.8)
        #expect(row.sealedLatencyCost == 2 && row.sealedBandwidthCost == 0.5)
        #expect(ComparisonRow.table(rows).contains(" 0.5x"), "\(ComparisonRow.table(rows))")
        #expect(row.latencyRatioVs.isEmpty, "ratios to MPICH only")
        #expect(row.jsonLine.contains(#""key_bandwidth_cost":0.8"#), "\(row.jsonLine)")
        #expect(ComparisonRow.table(rows).contains("0.8x"), "\(ComparisonRow.table(rows))")
    }

    @Test func tablesAlignEveryColumnToItsWidestCell() {
        var table = TextTable(["tool", "hosts", "ms"])
        table.append(["trellis", "16", "86"])
        table.append(["pdsh", "2", "2700"])
        #expect(table.text == "tool     hosts    ms\ntrellis     16    86\npdsh         2  2700")
    }

    @Test func theStageTableHasACellUnderEveryTitle() {
        let records = StageBenchmark.tools.enumerated().map { index, tool in
            ToolTiming(bench: "stage", scenario: "large", tool: tool, hosts: 4, seconds: Double(index + 1), bytes: 1 << 30)
        }
        let lines = StageBenchmark.table(records).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].split(separator: " ", omittingEmptySubsequences: true).count >= 11)
        #expect(lines[1].hasPrefix("large"))
        #expect(lines[0].count == lines[1].count)
    }
}
