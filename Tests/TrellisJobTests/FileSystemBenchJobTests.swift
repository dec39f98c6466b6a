import Foundation
import Testing

/// `trellis bench fs` and `trellis bench fuse` end to end, small: each starts
/// its own name service and file system, measures, reports its baselines,
/// and leaves nothing behind.
@Suite(.serialized) struct FileSystemBenchJobTests {
    private func records(_ output: String) -> [[String: Any]] {
        output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    @Test func benchFsMeasuresTheFileSystemAndTheLocalFileInOneRun() throws {
        let outcome = try JobHarness.run([JobHarness.trellis, "bench", "fs", "--servers", "2", "--mib", "4", "--chunk-mib", "1"], timeoutSeconds: 300)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let lines = records(outcome.output)
        #expect(lines.compactMap { $0["bench"] as? String } == ["fs-write", "fs-read"], "\(outcome.combined)")
        #expect(lines.allSatisfy { ($0["mibPerSecond"] as? Double ?? 0) > 0 && ($0["baselineMiBPerSecond"] as? Double ?? 0) > 0 && $0["ratio"] is Double })
    }

    @Test func benchFuseMeasuresTheMountTheNativeClientAndLocalDisk() throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "fuse", "--servers", "2", "--mib", "4", "--block-kib", "1024", "--random-reads", "8", "--files", "30",
             "--trials", "1", "--threads", "2"],
            timeoutSeconds: 600)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let lines = records(outcome.output)
        let benches = lines.compactMap { $0["bench"] as? String }
        #expect(benches == ["fuse-seq-write", "fuse-seq-read", "fuse-random-read-4k", "fuse-create", "fuse-stat", "fuse-remove", "fuse-targets"], "\(outcome.combined)")
        #expect(lines.first { $0["bench"] as? String == "fuse-seq-write" }?["fuse_vs_native_write_ratio"] is Double, "\(outcome.combined)")
        #expect(lines.first { $0["bench"] as? String == "fuse-create" }?["local_ops_per_s"] is Double)
    }
}
