import Foundation
import Testing

/// `trellis bench fs` and `trellis bench fuse` end to end, small: each starts
/// its own name service and file systems, measures, reports its baselines,
/// and leaves nothing behind.
@Suite(.serialized) struct FileSystemBenchJobTests {
    /// The keys as users read them: `bench fs`'s lines and `bench fuse`'s.
    struct Line: Decodable {
        var bench: String
        var mibPerSecond: Double?
        var localFileMibPerSecond: Double?
        var ratioVsLocalFile: Double?
        var replicas: Int?
        var ratioVsOneReplica: Double?
        var auth: String?
        var ratioVsNoKey: Double?
        var operationsPerSecondByPlace: [String: Double]?
        var ratioVs: [String: Double]?
        var writeRatioVsNative: Double?
        var met: Bool?
        var inFlight: Int?
        var cpSyncMibPerSecond: Double?
        var ratioVsCpSync: Double?
    }

    private func records(_ output: String) -> [Line] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return output.split(separator: "\n").compactMap { try? decoder.decode(Line.self, from: Data($0.utf8)) }
    }

    /// `bench cp` copies a file in and out with `trellis fs cp` (checking the copy out byte by byte) beside `cp` + `sync`.
    @Test func benchCpCopiesInAndOutBesideCpAndSync() throws {
        let source = NSTemporaryDirectory() + "trellis-bench-cp-source-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: source) }
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "cp", "--servers", "2", "--mib", "9", "--in-flight", "1", "3", "--source-folder", source, "--json"], timeoutSeconds: 300)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let lines = records(outcome.output)
        #expect(lines.map(\.bench) == ["cp-in", "cp-out", "cp-in", "cp-out"], "\(outcome.combined)")
        #expect(lines.map(\.inFlight) == [1, 1, 3, 3], "\(outcome.output)")
        #expect(lines.allSatisfy { ($0.mibPerSecond ?? 0) > 0 && ($0.cpSyncMibPerSecond ?? 0) > 0 && ($0.ratioVsCpSync ?? 0) > 0 }, "\(outcome.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: source).isEmpty, "the source file is removed")
    }

    @Test func benchFsMeasuresTheFileSystemAndTheLocalFileInOneRun() throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "fs", "--servers", "2", "--mib", "4", "--chunk-mib", "1", "--replicas", "1", "2"], timeoutSeconds: 300)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let lines = records(outcome.output)
        #expect(lines.map(\.bench) == Array(repeating: ["fs-write", "fs-read"], count: 4).flatMap { $0 }, "\(outcome.combined)")
        #expect(lines.map(\.replicas) == [1, 1, 1, 1, 2, 2, 2, 2], "\(outcome.output)")
        #expect(lines.map(\.auth) == ["key", "key", "none", "none", "key", "key", "none", "none"], "\(outcome.output)")
        #expect(lines.allSatisfy { ($0.mibPerSecond ?? 0) > 0 && ($0.localFileMibPerSecond ?? 0) > 0 && ($0.ratioVsLocalFile ?? 0) > 0 }, "\(outcome.output)")
        // Two copies are compared with one, and a key with none, measured in the same run.
        #expect(lines.allSatisfy { ($0.ratioVsOneReplica ?? 0) > 0 }, "\(outcome.output)")
        #expect(lines.allSatisfy { ($0.ratioVsNoKey != nil) == ($0.auth == "key") }, "\(outcome.output)")
    }

    @Test func benchFuseMeasuresTheMountTheNativeClientAndLocalDisk() throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "fuse", "--servers", "2", "--mib", "4", "--block-kib", "1024", "--random-reads", "8", "--files", "30",
             "--trials", "1", "--threads", "2"],
            timeoutSeconds: 600)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let lines = records(outcome.output)
        let benches = lines.map(\.bench)
        #expect(benches == ["fuse-seq-write", "fuse-seq-read", "fuse-random-read-4k", "fuse-create", "fuse-stat", "fuse-remove", "fuse-create-unique", "fuse-remove-unique", "fuse-targets"], "\(outcome.combined)")
        #expect(lines.first { $0.bench == "fuse-seq-write" }?.ratioVs?["native"] != nil, "\(outcome.output)")
        #expect((lines.first { $0.bench == "fuse-create" }?.operationsPerSecondByPlace?["local"] ?? 0) > 0, "\(outcome.output)")
        #expect((lines.first { $0.bench == "fuse-create-unique" }?.operationsPerSecondByPlace?["fuse"] ?? 0) > 0, "\(outcome.output)")
        #expect(lines.last?.writeRatioVsNative != nil && lines.last?.met != nil, "\(outcome.output)")
    }
}
