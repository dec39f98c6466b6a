import Foundation
import NIOCore
import Testing
import TrellisBenchmarks
import TrellisFSClient
import TrellisFSProtocol

/// Aggregate operations against real servers (§7 of the persistent-services
/// paper, Latham, Ross and Thakur, "Can MPI Be Used for Persistent Parallel
/// Services?"): an unstuffed create, a stat of a spread file and an unlink
/// are one request from the client each, which the servers fan out among
/// themselves as a tree.
@Suite(.serialized) struct AggregateOperationJobTests {
    @Test func createStatAndRemoveAreOneRequestEachAndFanOutAsATree() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096, precreateBatch: 0)
        let fs = try fixture.client()
        defer { fs.close() }
        let directory = try fs.makeDirectory("/agg")
        let depth = 2  // ceil(log2 4)

        var before = fs.traffic
        let file = try fs.createFile(in: directory, named: "wide", stuffed: false)
        var used = fs.traffic.since(before)
        #expect(file.datafiles.count == 4 && Set(file.datafiles.compactMap(\.server)).count == 4)
        #expect(used == LinkTraffic(messages: 2, steps: 2 + 2 * depth), "\(used)")

        let data = ByteBuffer(repeating: 0x5A, count: 50_000)
        try fs.write("/agg/wide", data, at: 0)
        before = fs.traffic
        #expect(try fs.size(of: file) == 50_000)
        used = fs.traffic.since(before)
        #expect(used == LinkTraffic(messages: 2, steps: 2 + 2 * depth), "\(used)")

        before = fs.traffic
        try fs.removeFile(file, named: "wide", in: directory.handle)
        used = fs.traffic.since(before)
        #expect(used.messages == 2, "\(used)")
        // Every datafile went before the reply: each server now refuses them.
        #expect(throws: FSError.self) { _ = try fs.datafileSizes(of: file) }
    }

    @Test func theClientDoingEachStepCostsAMessagePairPerServer() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        let stepwise = StepwiseOperations(fs)
        let directory = try fs.makeDirectory("/own")
        var before = fs.traffic
        let file = try stepwise.createFile(in: directory, named: "wide")
        var used = fs.traffic.since(before)
        // Four datafiles (one request per server, sent one after another), then the metadata.
        #expect(used == LinkTraffic(messages: 10, steps: 4 + 3), "\(used)")
        try fs.write("/own/wide", ByteBuffer(repeating: 1, count: 20_000), at: 0)
        before = fs.traffic
        #expect(try stepwise.size(of: file) == 20_000)
        used = fs.traffic.since(before)
        #expect(used == LinkTraffic(messages: 8, steps: 4 + 1), "\(used)")
        before = fs.traffic
        try stepwise.removeFile(file, named: "wide", in: directory.handle)
        used = fs.traffic.since(before)
        #expect(used.messages == 2 + 2 * 3, "\(used)")
        #expect(throws: FSError.self) { _ = try fs.datafileSizes(of: file) }
        // Both ways the same file system results: the aggregate create of the same file works after.
        #expect(try fs.createFile(in: directory, named: "wide", stuffed: false).datafiles.count == 4)
    }
}

@Suite struct AggregateBenchJobTests {
    @Test func theBenchReportsMessagesAndStepsForBothModes() throws {
        let plot = NSTemporaryDirectory() + "aggregate-\(UUID().uuidString).svg"
        defer { try? FileManager.default.removeItem(atPath: plot) }
        let outcome = try JobHarness.run([JobHarness.trellis, "bench", "aggregate", "--max-servers", "3", "--files", "3", "--plot", plot], timeoutSeconds: 300)
        #expect(outcome.status == 0, "\(outcome.combined)")
        struct Speedup: Decodable {
            var bench: String; var op: String; var servers: Int; var clientOverAggregate: Double; var modeledClientOverAggregate: Double; var perMessageMilliseconds: Double
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let speedups = outcome.output.split(separator: "\n").compactMap { try? decoder.decode(Speedup.self, from: Data($0.utf8)) }
        #expect(speedups.map { "\($0.op) \($0.servers)" } == ["create 1", "create 2", "create 3", "stat 1", "stat 2", "stat 3", "remove 1", "remove 2", "remove 3"])
        #expect(speedups.allSatisfy { $0.bench == "aggregate-speedup" && $0.clientOverAggregate > 0 && $0.perMessageMilliseconds > 0 })
        // The schedule's steps at 3 servers (5 aggregate, at least as many client-driven): modeled, the tree is no slower.
        #expect(speedups.filter { $0.servers == 3 }.allSatisfy { $0.modeledClientOverAggregate >= 1 }, "\(speedups)")
        let svg = try String(contentsOfFile: plot, encoding: .utf8)
        #expect(svg.contains("remove, aggregate (servers' tree)") && svg.contains("create, client-driven") && svg.contains("remove, aggregate, modeled"))
        struct Record: Decodable { var bench: String; var op: String; var servers: Int; var mode: String; var messages: Double; var steps: Double; var milliseconds: Double }
        let records = outcome.output.split(separator: "\n").compactMap { try? JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
        #expect(records.count == 3 * 3 * 2, "\(outcome.combined)")
        for record in records {
            if record.mode == "aggregate" {
                // Client to root and back, plus the tree: root → [2] at step 1 and → [1] at step 2 for three servers.
                #expect(record.messages == 2 && record.steps == [1: 2.0, 2: 4, 3: 5][record.servers], "\(record)")
            } else {
                #expect(record.mode == "client" && record.messages >= Double(2 * record.servers), "\(record)")
            }
            #expect(record.milliseconds > 0 && record.bench == "aggregate")
        }
    }
}
