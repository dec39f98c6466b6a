import Foundation
import NIOCore
import Testing
import TrellisFSClient
import TrellisFSProtocol

/// Small files against real servers: a new file keeps its one datafile with
/// its metadata (one request to make, one to stat) until it grows past its
/// first strip, when it is spread over all its datafiles without moving a byte.
@Suite(.serialized) struct StuffedFileJobTests {
    @Test func aSmallFileStaysStuffedAndIsSpreadWhenItGrows() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/d")
        let small = try fs.createFile("/d/small")
        #expect(small.isStuffed && small.datafiles == [small.datafiles[0]] && small.datafiles[0].server == small.handle.server)
        let head = ByteBuffer(bytes: (0..<3901).map { UInt8(truncatingIfNeeded: $0 * 7) })
        try fs.write("/d/small", head, at: 0)
        let stat = try fs.stat("/d/small")
        #expect(stat.isStuffed && stat.size == 3901 && stat.sizeIsKnown)

        // Past the first strip: datafiles on every server, the head where it was.
        let tail = ByteBuffer(repeating: 0xEE, count: 10_000)
        try fs.write("/d/small", tail, at: 5000)
        let grown = try fs.stat("/d/small")
        #expect(!grown.isStuffed && grown.datafiles.count == 4 && Set(grown.datafiles.compactMap(\.server)).count == 4)
        #expect(grown.datafiles[0] == small.datafiles[0] && grown.size == 15_000)
        var expected = head
        expected.writeRepeatingByte(0, count: 5000 - 3901)
        expected.writeImmutableBuffer(tail)
        #expect(try fs.read("/d/small", at: 0, length: 20_000) == expected)

        // Truncating past the strip spreads too; an unstuffed create makes all datafiles at once.
        try fs.createFile("/d/sparse")
        try fs.truncate("/d/sparse", to: 1 << 20)
        let sparse = try fs.stat("/d/sparse")
        #expect(!sparse.isStuffed && sparse.size == 1 << 20)
        let wide = try fs.createFile("/d/wide", stuffed: false)
        #expect(!wide.isStuffed && wide.datafiles.count == 4)
        try fs.write("/d/wide", expected, at: 0)
        #expect(try fs.read("/d/wide", at: 0, length: 20_000) == expected)

        // A reader holding the stuffed attributes still sees what a writer spread.
        let reader = try fs.open("/d/late", access: .read, create: true)
        try fs.write("/d/late", tail, at: 8000)
        #expect(try reader.size() == 18_000)
        #expect(try reader.read(at: 8000, length: 10_000) == tail)
        try reader.close()

        // A file whose one datafile lives with its metadata is not stuffed, and its owner gives its size:
        // a reader opened before it grew must still see the new size, not the one it opened with.
        try fs.createFile("/d/single", distribution: try .simpleStripe(stripSizeBytes: 4096, datafileCount: 1))
        let opened = try fs.open("/d/single", access: .read)
        #expect(!opened.attributes.isStuffed && opened.attributes.sizeIsKnown)
        try fs.write("/d/single", tail, at: 0)
        #expect(try opened.size() == 10_000)
        #expect(try opened.read(at: 0, length: 20_000) == tail)
        try opened.close()

        for path in ["/d/small", "/d/sparse", "/d/wide", "/d/late", "/d/single"] { try fs.removeFile(path) }
        #expect(try fs.statistics().objectCount == 2)
    }

    @Test func twoClientsSpreadingOneFileAgreeOnItsDatafiles() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 4096)
        let first = try fixture.client()
        defer { first.close() }
        let second = try FileSystemClient.connect(name: fixture.name, runtime: first.runtime, timeoutSeconds: 60)
        defer { second.close() }
        try first.createFile("/shared")
        let one = try first.open("/shared", access: .write)
        let two = try second.open("/shared", access: .write)
        // Both still think the file is stuffed; both spread it; one spreading wins and the other adopts it.
        try one.write(ByteBuffer(repeating: 1, count: 4096), at: 4096)
        try two.write(ByteBuffer(repeating: 2, count: 4096), at: 8192)
        try one.close()
        try two.close()
        #expect(one.attributes.datafiles == two.attributes.datafiles && one.attributes.datafiles.count == 3)
        let back = try first.read("/shared", at: 0, length: 3 * 4096)
        #expect(Array(back.readableBytesView) == Array(repeating: 0, count: 4096) + Array(repeating: 1, count: 4096) + Array(repeating: 2, count: 4096))
    }
}
