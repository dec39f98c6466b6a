import NIOCore
import Testing
import TrellisFSClient
import TrellisFSProtocol

/// The client library against servers in this process: what a program
/// using `TrellisFSClient` sees, without a `trellis` binary in between.
@Suite("The file-system client against in-process servers", .serialized)
struct FileSystemClientTests {
    @Test func pieceByPieceWritesReadBackWholeAcrossStrips() throws {
        let system = try InProcessFileSystem(servers: 2, stripSizeBytes: 4096)
        let fs = try system.client()
        defer { fs.close() }
        let file = try fs.open("/pieces", access: .readWrite, create: true)
        var expected = [UInt8](repeating: 0, count: 20_000)
        // Out of order, across strip and server boundaries, one past a gap.
        for (offset, length) in [(10_000, 5_000), (0, 4_100), (4_100, 3_000), (15_000, 5_000)] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: ($0 + offset) &* 7) }
            expected.replaceSubrange(offset..<offset + length, with: bytes)
            #expect(try file.write(ByteBuffer(bytes: bytes), at: UInt64(offset)) == UInt64(length))
        }
        try file.close()
        #expect(try fs.stat("/pieces").size == 20_000)
        let back = try fs.read("/pieces", at: 0, length: 20_000)
        #expect(Array(back.readableBytesView) == expected, "the hole between 7100 and 10000 reads as zeros")
        #expect(try fs.read("/pieces", at: 19_990, length: 100).readableBytes == 10, "a read past the end stops at it")
    }

    @Test func anOpenFileRefusesWhatItsAccessDoesNotAllowAndAnyUseAfterClose() throws {
        let system = try InProcessFileSystem()
        let fs = try system.client()
        defer { fs.close() }
        _ = try fs.write("/only-read", ByteBuffer(string: "abc"), at: 0, create: true)
        let reader = try fs.open("/only-read", access: .read)
        let refused = #expect(throws: FSError.self) { try reader.write(ByteBuffer(string: "x"), at: 0) }
        #expect(refused?.code == .badDescriptor, "EBADF, as write(2) on a descriptor opened for reading")
        #expect(refused?.message.contains("/only-read") == true)
        try reader.close()
        let closed = #expect(throws: FSError.self) { try reader.read(at: 0, length: 1) }
        #expect(closed?.code == .badDescriptor)
        #expect(throws: FSError.self) { try reader.close() }
        // A file that was written and closed is durable: another client reads it.
        let writer = try fs.open("/written", access: .write, create: true)
        try writer.write(ByteBuffer(string: "durable"), at: 0)
        let notForReading = #expect(throws: FSError.self) { try writer.read(at: 0, length: 1) }
        #expect(notForReading?.code == .badDescriptor)
        try writer.close()
        let other = try system.client()
        defer { other.close() }
        #expect(String(buffer: try other.read("/written", at: 0, length: 100)) == "durable")
    }

    @Test func pathErrorsCarryTheirCodeAndNameThePath() throws {
        let system = try InProcessFileSystem()
        let fs = try system.client()
        defer { fs.close() }
        _ = try fs.createFile("/plain")
        let missing = #expect(throws: FSError.self) { try fs.stat("/no/such/thing") }
        #expect(missing?.code == .notFound)
        let through = #expect(throws: FSError.self) { try fs.stat("/plain/inside") }
        #expect(through?.code == .notDirectory)
        let twice = #expect(throws: FSError.self) { try fs.makeDirectory("/plain") }
        #expect(twice?.code == .exists)
        _ = try fs.makeDirectories("/full/of")
        _ = try fs.createFile("/full/of/one")
        let notEmpty = #expect(throws: FSError.self) { try fs.removeDirectory("/full/of") }
        #expect(notEmpty?.code == .notEmpty)
    }

    @Test func listingPagesThroughALargeDirectoryInNameOrder() throws {
        let system = try InProcessFileSystem()
        let fs = try system.client()
        defer { fs.close() }
        _ = try fs.makeDirectory("/many")
        let names = (0..<300).map { "entry-\($0)" }
        for name in names { _ = try fs.createFile("/many/\(name)") }
        var pages = 0
        var seen: [String] = []
        try fs.list("/many", pageSize: 16) { page in
            pages += 1
            #expect(page.count <= 16)
            seen += page.map(\.name)
        }
        #expect(seen == names.sorted(), "every entry once, in name order")
        #expect(pages >= 300 / 16)
    }

    @Test func hardLinksAndRenamesKeepOneObjectAndCountItsNames() throws {
        let system = try InProcessFileSystem()
        let fs = try system.client()
        defer { fs.close() }
        _ = try fs.makeDirectories("/a/deep")
        _ = try fs.makeDirectory("/b")
        _ = try fs.write("/a/deep/data", ByteBuffer(string: "shared bytes"), at: 0, create: true)
        let linked = try fs.link("/b/alias", to: "/a/deep/data")
        #expect(linked.linkCount == 2)
        try fs.rename("/a/deep/data", to: "/b/renamed")
        #expect(try fs.stat("/b/renamed").handle == linked.handle)
        try fs.removeFile("/b/alias")
        let left = try fs.stat("/b/renamed")
        #expect(left.linkCount == 1)
        #expect(String(buffer: try fs.read("/b/renamed", at: 0, length: 100)) == "shared bytes")
        #expect(throws: FSError.self) { try fs.stat("/a/deep/data") }
    }

    /// Writes and reads kept in flight together (write-behind, read-ahead)
    /// land and come back in order; a read finds the end of the file, and a
    /// hole, without asking the size first, and stops short only at the end.
    @Test func readsAndWritesInFlightTogetherKeepTheirOrderAndTheEndOfTheFile() throws {
        let system = try InProcessFileSystem(servers: 3, stripSizeBytes: 4096)
        let fs = try system.client()
        defer { fs.close() }
        let file = try fs.open("/streamed", access: .readWrite, create: true)
        let chunk = 10_000
        var expected: [UInt8] = []
        var made = 0
        let written = try file.writeStream(from: 0, inFlight: 3) {
            guard made < 7 else { return nil }
            let bytes = (0..<chunk).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ made) }
            expected += bytes
            made += 1
            return ByteBuffer(bytes: bytes)
        }
        #expect(written == UInt64(7 * chunk))
        // A hole: the last strip of a datafile past the others' ends.
        let tail = (0..<100).map { UInt8(truncatingIfNeeded: $0) }
        try file.write(ByteBuffer(bytes: tail), at: 90_000)
        expected += [UInt8](repeating: 0, count: 90_000 - expected.count) + tail
        try file.close()

        let reader = try fs.open("/streamed", access: .read)
        var calls: [[UInt8]] = []
        let read = try reader.readStream(at: 0, length: 200_000, chunkBytes: 6_000, inFlight: 4) { pieces in
            calls.append(pieces.flatMap { Array($0.readableBytesView) })
        }
        #expect(read == 90_100, "the stream stops at the end of the file")
        #expect(calls.flatMap { $0 } == expected, "holes read as zeros, every byte in order")
        #expect(calls.dropLast().allSatisfy { $0.count == 6_000 })
        // Two reads started before either is finished.
        let first = try reader.startRead(at: 89_990, length: 500)
        let second = try reader.startRead(at: 70_000, length: 4_096)
        #expect(try reader.finish(second).flatMap { Array($0.readableBytesView) } == Array(expected[70_000..<74_096]))
        #expect(try reader.finish(first).flatMap { Array($0.readableBytesView) } == Array(expected[89_990...]), "short at the end")
        #expect(try reader.readPieces(at: 95_000, length: 10).isEmpty, "past the end: nothing")
        try reader.close()
    }
}
