import Foundation
import NIOCore
import Testing
import TrellisFSClient
import TrellisFSProtocol
import TrellisFUSE
import TrellisNames
import TrellisServices

/// Servers serve Prometheus metrics that a workload moves, `trellis fs top`
/// reads them, and SIGTERM stops a server in good order.
@Suite("Metrics and service lifecycle", .serialized)
struct MetricsJobTests {
    private func scrape(_ fixture: FileSystemFixture, server: Int) throws -> [MetricSample] {
        try fixture.scrapeMetrics(of: server)
    }

    private func total(_ samples: [MetricSample], _ name: String, operation: String? = nil) -> Double {
        samples.total(name, operation.map { ["operation": $0] } ?? [:])
    }

    @Test func aWorkloadMovesTheServersCountersAndAClosedClientLeavesNoSession() throws {
        let fixture = try FileSystemFixture(servers: 2, stripSizeBytes: 4096)
        let fs = try fixture.client()
        let file = try fs.open("/measured", access: .readWrite, create: true)
        try file.write(ByteBuffer(repeating: 7, count: 100_000), at: 0)
        #expect(try file.read(at: 0, length: 100_000).readableBytes == 100_000)
        try file.close()
        #expect(throws: FSError.self) { try fs.stat("/not-there") }

        let before = try (0..<2).map { try scrape(fixture, server: $0) }
        #expect(before.map { total($0, "trellis_fs_written_bytes_total") }.reduce(0, +) >= 100_000)
        #expect(before.map { total($0, "trellis_fs_read_bytes_total") }.reduce(0, +) >= 100_000)
        #expect(before.map { total($0, "trellis_fs_requests_total", operation: "WriteData") }.reduce(0, +) >= 2)
        #expect(before.map { total($0, "trellis_fs_request_duration_seconds_count", operation: "WriteData") }.reduce(0, +) >= 2)
        #expect(before.map { total($0, "trellis_fs_errors_total") }.reduce(0, +) >= 1, "the failed stat is counted by its code")
        #expect(before.map { total($0, "trellis_messages_received_total") }.reduce(0, +) > 0, "the runtime's counters are served too")
        let sessionsBefore = before.map { total($0, "trellis_fs_sessions") }.reduce(0, +)
        #expect(sessionsBefore >= 2, "this client holds a session with each server")

        // A client that closes says so, and each server drops its session (it used to keep every one for good).
        fs.close()
        var sessionsAfter = sessionsBefore
        for _ in 0..<100 where sessionsAfter > sessionsBefore - 2 {
            usleep(100_000)
            sessionsAfter = try (0..<2).map { total(try scrape(fixture, server: $0), "trellis_fs_sessions") }.reduce(0, +)
        }
        #expect(sessionsAfter <= sessionsBefore - 2, "\(fixture.logTails())")
    }

    /// With one copy a close makes what it wrote durable (a sync on its
    /// data server); with two and `durability = "replicated"` each write was
    /// on both copies when it returned, so only an explicit fsync syncs. A
    /// directory that keeps one copy of its files' bytes in a file system of
    /// two gets the sync of one copy.
    @Test(arguments: [(1, nil), (2, nil), (2, 1)] as [(Int, Int?)])
    func aCloseSyncsOnlyWhereAWriteIsNotDoneOnEveryCopy(replicas: Int, directoryCopies: Int?) throws {
        let fixture = try FileSystemFixture(servers: 2, stripSizeBytes: 4096, replicas: replicas, dataReplicas: directoryCopies.map { [$0] } ?? [])
        let fs = try fixture.client()
        defer { fs.close() }
        func syncs() throws -> Double {
            try (0..<2).map { total(try scrape(fixture, server: $0), "trellis_fs_requests_total", operation: "SyncDatafiles") }.reduce(0, +)
        }
        let copies = directoryCopies ?? replicas
        let folder = directoryCopies == nil ? "" : "/scratch"
        if let directoryCopies {
            try fs.makeDirectory(folder)
            let current = try #require(fs.stat(folder).distribution ?? fs.configuration.defaultDistribution)
            try fs.setAttributes(folder, AttributeChanges(distribution: try current.keeping(copies: directoryCopies)))
        }
        let file = try fs.open(folder + "/closed", access: .write, create: true)
        try file.write(ByteBuffer(repeating: 3, count: 3901), at: 0)
        try file.close()
        let afterClose = try syncs()
        // One per datafile: a stuffed file has one; a file whose bytes live in a directory's groups is never stuffed.
        let datafiles = try fs.stat(folder + "/closed").datafiles.count
        #expect(afterClose == (copies == 1 ? Double(datafiles) : 0), "\(afterClose) syncs after a close with \(copies) copies")
        let synced = try fs.open(folder + "/closed", access: .write)
        try synced.write(ByteBuffer(repeating: 4, count: 10), at: 0)
        try synced.sync(always: true)
        try synced.close()
        #expect(try syncs() > afterClose, "an explicit sync reaches the data servers")
        var expected = ByteBuffer(repeating: 4, count: 10)
        expected.writeRepeatingByte(3, count: 3891)
        #expect(try fs.open(folder + "/closed").read(at: 0, length: 3901) == expected)
        if directoryCopies != nil {
            let groups = try fs.stat(folder + "/closed").datafiles.compactMap(\.server)
            #expect(!groups.isEmpty && groups.allSatisfy { $0 >= fixture.serverCount }, "the bytes live in the one-copy groups: \(groups)")
        }
    }

    @Test func fsTopReportsEveryServer() throws {
        let fixture = try FileSystemFixture(servers: 2)
        let top = try JobHarness.run(
            [JobHarness.trellis, "fs", "top", "--name", fixture.name, "--interval", "0.3", "--count", "2", "--json"],
            environment: fixture.environment, timeoutSeconds: 60)
        #expect(top.status == 0, "\(top.combined)")
        let records = top.output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(records.count == 4, "two rounds of two servers: \(top.combined)")
        #expect(Set(records.compactMap { $0["server"] as? Int }) == [0, 1])
        #expect(records.allSatisfy { $0["error"] == nil && $0["metrics"] is String }, "\(top.combined)")
        // The scrapes themselves reach no server, so what top shows moving is other traffic: none here, but every rate is a number.
        #expect(records.allSatisfy { $0["requestsPerSecond"] is Double || $0["requestsPerSecond"] is Int })
    }

    @Test func sigtermStopsAServerInGoodOrder() throws {
        let fixture = try FileSystemFixture(servers: 2)
        #expect(fixture.stopServer(1) == 0, "\(fixture.logTails())")
        let names = NameServiceClient(address: fixture.names.address, timeoutSeconds: 5)
        #expect(throws: (any Error).self, "a stopped server withdraws its name") { try names.call(NameRequest(.lookup, service: "trellis-fs/\(fixture.name)/1")) }
        #expect(throws: (any Error).self) { try names.call(NameRequest(.lookup, service: "trellis-fs/\(fixture.name)/1/metrics")) }
        #expect(try names.call(NameRequest(.lookup, service: "trellis-fs/\(fixture.name)/0")).ok == true)
    }

    @Test func aMountServesItsMetricsAndSigtermUnmountsIt() throws {
        let fixture = try FileSystemFixture(servers: 2)
        let port = try freePort()
        let mount = try MountFixture(fixture, arguments: ["--metrics-address", "127.0.0.1:\(port)"])
        let work = try mount.shell("head -c 100000 /dev/zero > file; cat file > /dev/null; ls not-here 2>/dev/null || true", in: mount.point)
        #expect(work.status == 0, "\(work.combined)")
        let samples = try MetricsScrape.fetch("127.0.0.1:\(port)")
        #expect(total(samples, "trellis_mount_requests_total", operation: "write") >= 1, "\(mount.logText)")
        #expect(total(samples, "trellis_mount_requests_total", operation: "create") >= 1)
        #expect(samples.contains { $0.name == "trellis_mount_errors_total" && $0.labels["operation"] == "lookup" && $0.labels["errno"] == "2" })
        #expect(total(samples, "trellis_fs_requests_total") == 0, "a mount serves its own counters, not the servers'")
        #expect(mount.stop() == 0, "\(mount.logText)")
        #expect(!MountTable.isTrellisMount(mount.point), "SIGTERM unmounts")
    }
}
