import Foundation
import Testing

/// `trellis bench meta` end to end, small: every phase runs and reports.
@Suite struct MetadataBenchJobTests {
    @Test func theBenchRunsEveryPhaseFromSeveralProcessesAndReportsRates() throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "meta", "--servers", "2", "--clients", "2", "--files", "20"], timeoutSeconds: 300)
        #expect(outcome.status == 0, "\(outcome.combined)")
        struct Record: Decodable { var op: String; var layout: String; var bytes: Int; var clients: Int; var files: Int; var ops_per_s: Double }
        let records = outcome.output.split(separator: "\n").compactMap { try? JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
        // Empty files: create, stat, remove; 3,901-byte files add read; each in a shared and in per-process directories.
        #expect(records.count == 2 * 3 + 2 * 4, "\(outcome.combined)")
        #expect(Set(records.map(\.op)) == ["create", "stat", "read", "remove"] && Set(records.map(\.layout)) == ["shared", "unique"])
        #expect(records.allSatisfy { $0.files == 40 && $0.clients == 2 && $0.ops_per_s > 0 }, "\(records)")
    }
}
