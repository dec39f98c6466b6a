import Foundation
import NIOCore
import Testing
import TrellisFSClient
import TrellisFSProtocol

/// Hard links across directories (and servers) with real servers: link
/// counts, data through every name, unlinking name by name, and the CLI.
@Suite(.serialized) struct HardLinkJobTests {
    /// Directories until one lives on `server` (or, with `not`, on any other).
    private func directory(on server: Int?, not other: Int? = nil, _ fs: FileSystemClient, prefix: String) throws -> String {
        for index in 0..<64 {
            let path = "/\(prefix)\(index)"
            let made = try fs.makeDirectory(path)
            if let server, made.handle.server == server { return path }
            if let other, made.handle.server != other { return path }
        }
        throw FSError(.notFound, "no directory landed where the test needs one")
    }

    private func code(_ body: () throws -> Void) -> FSError.Code? {
        do { try body(); return nil } catch let error as FSError { return error.code } catch { return nil }
    }

    @Test func linksAcrossServersKeepCountsAndDataUntilTheLastNameGoes() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/home")
        let data = ByteBuffer(bytes: (0..<40_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        try fs.write("/home/f", data, at: 0, create: true)
        let file = try fs.stat("/home/f")
        #expect(file.datafiles.count == 4 && file.linkCount == 1)
        let owner = file.handle.server!
        let near = try directory(on: owner, fs, prefix: "near")
        let far = try directory(on: nil, not: owner, fs, prefix: "far")

        try fs.link("\(near)/a", to: "/home/f")
        try fs.link("\(far)/b", to: "/home/f")
        for path in ["/home/f", "\(near)/a", "\(far)/b"] {
            let seen = try fs.stat(path)
            #expect(seen.handle == file.handle && seen.linkCount == 3 && seen.size == 40_000, "\(path): \(seen)")
            #expect(try fs.read(path, at: 0, length: 40_000) == data, "\(path)")
        }
        // A listing of the far directory shows the link's real attributes.
        var listed: [DetailedEntry] = []
        try fs.listWithAttributes(far) { listed += $0 }
        #expect(listed.first { $0.name == "b" }?.attributes.linkCount == 3)
        try fs.write("\(far)/b", ByteBuffer(string: "through b"), at: 0)
        #expect(try fs.read("/home/f", at: 0, length: 9) == ByteBuffer(string: "through b"))

        // Refused links leave the count alone (the far one undoes its first step).
        try fs.write("\(far)/taken", ByteBuffer(string: "x"), at: 0, create: true)
        #expect(code { try fs.link("\(far)/taken", to: "/home/f") } == .exists)
        #expect(code { try fs.link("\(near)/a", to: "/home/f") } == .exists)
        #expect(code { try fs.link("/home/dir-link", to: near) } == .notPermitted)
        #expect(code { try fs.link("/home/x", to: "/home/missing") } == .notFound)
        #expect(try fs.stat("/home/f").linkCount == 3)

        // Unlinking name by name: the data stays until the last one goes.
        try fs.removeFile("/home/f")
        #expect(try fs.stat("\(near)/a").linkCount == 2)
        #expect(try fs.read("\(far)/b", at: 9, length: 39_991) == data.getSlice(at: 9, length: 39_991))
        // A rename over a link drops that link only.
        try fs.write("\(far)/other", ByteBuffer(string: "other"), at: 0, create: true)
        try fs.rename("\(far)/other", to: "\(near)/a")
        #expect(try fs.read("\(near)/a", at: 0, length: 10) == ByteBuffer(string: "other"))
        #expect(try fs.stat("\(far)/b").linkCount == 1)
        #expect(try fs.read("\(far)/b", at: 0, length: 40_000).readableBytes == 40_000)
        try fs.removeFile("\(far)/b")
        #expect(code { _ = try fs.stat("\(far)/b") } == .notFound)
        // Every datafile went with the last name.
        #expect(code { _ = try fs.datafileSizes(of: file) } == .staleHandle)
    }

    @Test func symlinksTakeHardLinksAndTheCommandLineMakesBoth() throws {
        let fixture = try FileSystemFixture(servers: 2, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/d")
        try fs.write("/d/f", ByteBuffer(string: "hello"), at: 0, create: true)
        let environment = fixture.environment
        let name = ["--name", fixture.name]
        let hard = try JobHarness.run([JobHarness.trellis, "fs", "ln"] + name + ["/d/f", "/hard"], environment: environment)
        #expect(hard.status == 0, "\(hard.combined)")
        let soft = try JobHarness.run([JobHarness.trellis, "fs", "ln", "-s"] + name + ["d/f", "/soft"], environment: environment)
        #expect(soft.status == 0, "\(soft.combined)")
        #expect(try fs.stat("/hard").linkCount == 2 && fs.stat("/d/f").linkCount == 2)
        #expect(try fs.readLink("/soft") == "d/f" && fs.read("/soft", at: 0, length: 5) == ByteBuffer(string: "hello"))
        // link(2) does not follow a symlink: the link is to the symlink itself.
        try fs.link("/soft2", to: "/soft")
        #expect(try fs.stat("/soft", followLast: false).linkCount == 2 && fs.readLink("/soft2") == "d/f")
        let again = try JobHarness.run([JobHarness.trellis, "fs", "ln"] + name + ["/d/f", "/hard"], environment: environment)
        #expect(again.status != 0 && again.combined.contains("exists"), "\(again.combined)")
        let ls = try JobHarness.run([JobHarness.trellis, "fs", "ls", "--json"] + name + ["/d"], environment: environment)
        #expect(ls.output.contains(#""links":2"#), "\(ls.combined)")
    }

    @Test func layoutShowsWhereStripsLiveAndSetsADirectoryDefault() throws {
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/l")
        try fs.write("/l/wide", ByteBuffer(repeating: 1, count: 20_000), at: 0, create: true)
        try fs.write("/l/small", ByteBuffer(repeating: 2, count: 100), at: 0, create: true)
        let environment = fixture.environment
        let name = ["--name", fixture.name]
        struct Record: Decodable {
            struct Datafile: Decodable { var index: Int; var server: Int; var handle: String?; var bytes: UInt64 }
            struct Strip: Decodable { var offset: UInt64; var length: UInt64; var datafile: Int; var server: Int }
            var path: String; var stuffed: Bool; var size: UInt64?; var distribution: String?; var datafiles: [Datafile]; var strips: [Strip]; var moreStrips: Bool
        }
        let get = try JobHarness.run([JobHarness.trellis, "fs", "layout", "get", "--json", "--max-strips", "4"] + name + ["/l/wide", "/l/small", "/l"], environment: environment)
        #expect(get.status == 0, "\(get.combined)")
        let records = get.output.split(separator: "\n").compactMap { try? JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
        #expect(records.count == 3, "\(get.combined)")
        if records.count == 3 {
            let wide = records[0]
            let file = try fs.stat("/l/wide")
            #expect(!wide.stuffed && wide.size == 20_000 && wide.datafiles.count == 3)
            #expect(wide.datafiles.map(\.handle) == file.datafiles.map(\.description))
            #expect(wide.datafiles.map(\.server) == file.datafiles.map { $0.server! })
            // 20,000 bytes over 4 KiB strips: strips 0 and 3 on datafile 0, 1 and 4 (3,616 bytes) on 1, 2 on 2.
            #expect(wide.datafiles.map(\.bytes) == [8192, 7712, 4096], "\(wide.datafiles)")
            #expect(wide.strips.map(\.offset) == [0, 4096, 8192, 12288] && wide.strips.map(\.datafile) == [0, 1, 2, 0] && wide.moreStrips)
            let small = records[1]
            #expect(small.stuffed && small.datafiles.compactMap(\.handle).count == 1 && small.datafiles[0].bytes == 100 && !small.moreStrips)
            #expect(records[2].datafiles.isEmpty && records[2].distribution?.contains("4096") == true)
        }
        let set = try JobHarness.run(
            [JobHarness.trellis, "fs", "layout", "set", "--strip-size-bytes", "65536", "--datafiles", "2"] + name + ["/l"], environment: environment)
        #expect(set.status == 0, "\(set.combined)")
        let made = try fs.createFile("/l/new")
        #expect(made.distribution?.stripSizesBytes == [65536, 65536])
        let onFile = try JobHarness.run([JobHarness.trellis, "fs", "layout", "set", "--strip-size-bytes", "1024"] + name + ["/l/new"], environment: environment)
        #expect(onFile.status != 0 && onFile.combined.contains("not a directory"), "\(onFile.combined)")
    }
}
