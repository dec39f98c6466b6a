import Foundation
import Testing
import TrellisCore
@testable import TrellisFSClient
import TrellisFSProtocol

/// A directory of many entries against real servers: made, listed in pages
/// with attributes (one request per page), statted and emptied again. The
/// million-entry run is `trellis bench meta --files 250000 --bytes 0
/// --layouts shared`; this one is small enough for every CI run.
@Suite(.serialized) struct LargeDirectoryJobTests {
    static let entries = 20_000

    @Test func aLargeDirectoryListsInPagesAndEmptiesAgain() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        let directory = try fs.makeDirectory("/big")
        // Names whose order differs from their creation order, so paging by name is what is tested.
        let names = (0..<Self.entries).map { "entry-\(String($0 &* 7919 % Self.entries, radix: 36))-\($0)" }
        for name in names { _ = try fs.createFile(in: directory, named: name) }
        // The directory's size is its entry count, kept as entries come and go (no count over a huge directory).
        #expect(try fs.lookup("/big").size == UInt64(Self.entries))

        var pages = 0
        var listed: [String] = []
        var before = fs.traffic
        _ = try fs.lookup("/big")
        let resolving = fs.traffic.since(before).messages
        before = fs.traffic
        try fs.listWithAttributes("/big", pageSize: 1000) { page in
            pages += 1
            #expect(page.count <= 1000)
            for entry in page {
                #expect(entry.attributes.kind == .file && entry.attributes.sizeIsKnown && entry.attributes.size == 0 && entry.attributes.linkCount == 1)
            }
            listed += page.map(\.name)
        }
        #expect(pages == Self.entries / 1000)
        // One round trip per page after the path: every file lives on the directory's server, which knows its size.
        #expect(fs.traffic.since(before).messages == resolving + 2 * pages, "resolving the path took \(resolving)")
        #expect(listed == names.sorted())

        for name in names.shuffled().prefix(500) {
            #expect(try fs.lookup(name, in: directory).kind == .file)
        }
        for name in names { try fs.removeFile(named: name, in: directory.handle) }
        #expect(try fs.list("/big").isEmpty)
        #expect(try fs.lookup("/big").size == 0)
        try fs.removeDirectory("/big")
    }
}
