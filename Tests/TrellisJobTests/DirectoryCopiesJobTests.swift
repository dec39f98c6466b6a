import Foundation
import Glibc
import NIOCore
import Testing
import TrellisFSClient
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSServer

/// A directory chooses how many copies its new files' bytes get
/// (`trellis fs layout set --replicas N`, among the counts the file system
/// keeps groups for: `replicas` and `data_replicas`), inherited like the
/// stripe; metadata keeps the file system's own count, as BeeGFS mirrors
/// data per directory and CephFS directories name a data pool.
@Suite(.serialized) struct DirectoryCopiesJobTests {
    /// One copy of everything but `/safe`'s bytes, which have two: a server
    /// that holds neither directory dies, and every byte under `/safe`
    /// still reads back (its data group failed over) and takes new writes,
    /// while `/plain`'s files, striped over it too, cannot be read whole.
    /// The server comes back, is resynced, and both copies of every data
    /// group end the same.
    @Test func aDirectoryWithTwoCopiesKeepsItsBytesThroughAServersDeath() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 1024, replicas: 1, dataReplicas: [2])
        let fs = try fixture.client(timeoutSeconds: 20)
        defer { fs.close() }
        try fs.makeDirectory("/safe")
        try fs.makeDirectory("/plain")
        let name = ["--name", fixture.name]
        let set = try JobHarness.run([JobHarness.trellis, "fs", "layout", "set", "--replicas", "2"] + name + ["/safe"], environment: fixture.environment)
        #expect(set.status == 0, "\(set.combined)")
        let refused = try JobHarness.run([JobHarness.trellis, "fs", "layout", "set", "--replicas", "3"] + name + ["/plain"], environment: fixture.environment)
        #expect(refused.status != 0 && refused.combined.contains("keeps no data with 3 copies"), "\(refused.combined)")
        #expect(try fs.stat("/safe").distribution?.copies == 2)
        // Inherited like the stripe: a new subdirectory gives its files two copies too, and so do new strips set
        // on it, or a creator's own strips that name no count.
        try fs.makeDirectory("/safe/deeper")
        let striped = try JobHarness.run(
            [JobHarness.trellis, "fs", "mkdir", "--strip-size-bytes", "2048"] + name + ["/safe/striped"], environment: fixture.environment)
        let stripedLayout = try fs.stat("/safe/striped").distribution
        #expect(striped.status == 0 && stripedLayout?.copies == 2 && stripedLayout?.stripSizesBytes.first == 2048, "\(striped.combined)")
        let own = try fs.createFile("/safe/own", distribution: try .simpleStripe(stripSizeBytes: 1024, datafileCount: 2), stuffed: false)
        #expect(own.distribution?.copies == 2 && own.datafiles.allSatisfy { ($0.server ?? 0) >= fixture.serverCount }, "\(own.datafiles)")
        var written: [String: [UInt8]] = [:]
        for (index, path) in ["/safe/a", "/safe/b", "/safe/deeper/c", "/plain/a", "/plain/b"].enumerated() {
            let bytes = (0..<(5000 + index * 333)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ index) }
            try fs.createFile(path, stuffed: index % 2 == 0)
            _ = try fs.write(path, ByteBuffer(bytes: bytes), at: 0)
            written[path] = bytes
        }
        let servers = fixture.serverCount
        for (path, _) in written {
            let file = try fs.stat(path)
            let groups = file.datafiles.compactMap(\.server)
            if path.hasPrefix("/safe") {
                #expect(file.distribution?.copies == 2 && groups.count == servers && groups.allSatisfy { $0 >= servers }, "\(path): \(file.datafiles)")
            } else {
                #expect(file.distribution?.copies == nil && groups.allSatisfy { $0 < servers }, "\(path): \(file.datafiles)")
            }
        }
        let get = try JobHarness.run([JobHarness.trellis, "fs", "layout", "get", "--json"] + name + ["/safe/a"], environment: fixture.environment)
        struct Record: Decodable {
            struct Datafile: Decodable { var group: Int; var copies: [Int]? }
            var replicas: Int; var datafiles: [Datafile]
        }
        let record = try JSONDecoder().decode(Record.self, from: Data(get.output.utf8))
        #expect(record.replicas == 2 && record.datafiles.allSatisfy { $0.group >= servers && $0.copies?.count == 2 }, "\(get.output)")

        // A server that keeps neither directory's metadata (nor the root's) dies.
        let keepers = Set([0, try fs.stat("/safe").handle.server, try fs.stat("/safe/deeper").handle.server, try fs.stat("/plain").handle.server].compactMap { $0 })
        let victim = try #require((0..<servers).first { !keepers.contains($0) }, "every server keeps a directory: \(keepers)")
        fixture.killServer(victim)
        let dataGroup = servers + victim
        let reports = ReplicationJobTests.awaitReports(fs, seconds: 60) { reports in
            reports.first { $0.group == dataGroup }?.primary.map { !$0.members.contains(UInt32(victim)) } ?? false
        }
        #expect(reports.first { $0.group == dataGroup }?.primary?.server != UInt32(victim), "\(fixture.logTails(lines: 30))")
        for (path, bytes) in written where path.hasPrefix("/safe") {
            #expect(Array(try fs.read(path, at: 0, length: UInt64(bytes.count)).readableBytesView) == bytes, "\(path) with server \(victim) dead")
        }
        #expect(throws: FSError.self, "/plain/a has a datafile on dead server \(victim)") {
            _ = try fs.read("/plain/a", at: 0, length: UInt64(written["/plain/a"]!.count))
        }
        let fresh = (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        _ = try fs.write("/safe/b", ByteBuffer(bytes: fresh), at: 0)
        written["/safe/b"] = fresh + Array(written["/safe/b"]!.dropFirst(fresh.count))

        try fixture.startServer(victim)
        let healthy = ReplicationJobTests.awaitHealthy(fs, seconds: 120)
        #expect(healthy.allSatisfy { $0.health == "healthy" }, "\(healthy.map { "group \($0.group) \($0.health)" })\n\(fixture.logTails(lines: 30))")
        for (path, bytes) in written {
            #expect(Array(try fs.read(path, at: 0, length: UInt64(bytes.count + 10)).readableBytesView) == bytes, "\(path)")
        }
        try fs.removeFile("/safe/a")
        for server in 0..<servers { #expect(fixture.stopServer(server) == 0, "\(fixture.logTails())") }
        let differences = try ReplicationJobTests.differences(fixture.configuration)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }
}
