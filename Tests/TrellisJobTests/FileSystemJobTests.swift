import Foundation
import NIOCore
import Synchronization
import Testing
import TrellisCore
import TrellisFSClient
import TrellisFSDistribution
import TrellisFSServer
import TrellisFSProtocol
import TrellisRuntime
import TrellisSystem

@Suite(.serialized) struct FileSystemJobTests {
    @Test func everyClientOperationAgainstFourServers() throws {
        let fixture = try FileSystemFixture(servers: 4)
        let fs = try fixture.client()
        defer { fs.close() }
        #expect(fs.configuration.servers.count == 4)

        try fs.makeDirectories("/a/b/c")
        #expect(try fs.stat("/a/b/c").kind == .directory)
        let file = try fs.createFile("/a/b/data", mode: 0o640)
        #expect(file.distribution?.datafileCount == 4)
        let text = ByteBuffer(string: String(repeating: "trellis ", count: 3000))  // 24,000 bytes over 4 KiB strips
        #expect(try fs.write("/a/b/data", text, at: 100) == 24_000)
        #expect(try fs.stat("/a/b/data").size == 24_100)
        #expect(try fs.read("/a/b/data", at: 100, length: 24_000) == text)
        #expect(try fs.read("/a/b/data", at: 0, length: 100) == ByteBuffer(repeating: 0, count: 100))
        #expect(try fs.read("/a/b/data", at: 24_050, length: 1000).readableBytes == 50)

        try fs.truncate("/a/b/data", to: 5000)
        #expect(try fs.stat("/a/b/data").size == 5000)
        try fs.truncate("/a/b/data", to: 70_000)
        #expect(try fs.stat("/a/b/data").size == 70_000)
        try fs.sync("/a/b/data")

        // An open file: read and write through it, closed (and synced), then refused.
        let handle = try fs.open("/a/b/data", access: .readWrite)
        try handle.write(ByteBuffer(string: "open"), at: 69_996)
        #expect(try handle.read(at: 69_996, length: 10) == ByteBuffer(string: "open"))
        #expect(try handle.size() == 70_000)
        try handle.close()
        #expect(throws: FSError.self) { try handle.read(at: 0, length: 1) }
        let reader = try fs.open("/a/b/data", access: .read)
        #expect(throws: FSError.self) { try reader.write(ByteBuffer(string: "x"), at: 0) }
        try reader.close()
        let fresh = try fs.open("/a/b/new", access: .write, create: true)
        try fresh.write(ByteBuffer(string: "made by open"), at: 0)
        try fresh.close()
        #expect(try fs.read("/a/b/new", at: 0, length: 100) == ByteBuffer(string: "made by open"))
        try fs.removeFile("/a/b/new")

        try fs.symlink("/a/link", to: "b/data")
        #expect(try fs.readLink("/a/link") == "b/data")
        #expect(try fs.stat("/a/link").handle == file.handle)
        #expect(try fs.stat("/a/link", followLast: false).kind == .symlink)

        try fs.rename("/a/b/data", to: "/a/b/renamed")
        #expect(try fs.list("/a/b").map(\.name) == ["c", "renamed"])
        // A directory's default distribution: new files and directories in it inherit it.
        let narrow = try Distribution.variableStrip(stripSizesBytes: [1000, 3000], firstServer: 2)
        try fs.setAttributes("/a/b/c", AttributeChanges(distribution: narrow))
        // A file's datafile 0 lives with its metadata (so it can start stuffed): only the strips are inherited.
        let inherits = try fs.createFile("/a/b/c/inherits")
        #expect(inherits.distribution?.stripSizesBytes == narrow.stripSizesBytes && inherits.distribution?.firstServer == inherits.handle.server)
        #expect(try fs.makeDirectory("/a/b/c/sub").distribution == narrow)
        #expect(try fs.createFile("/a/b/c/sub/too").distribution?.stripSizesBytes == narrow.stripSizesBytes)
        #expect(throws: FSError.self) { try fs.setAttributes("/a/b/renamed", AttributeChanges(distribution: narrow)) }
        #expect(throws: FSError.self) { try fs.setAttributes("/a/b/c", AttributeChanges(distribution: try .simpleStripe(stripSizeBytes: 10, datafileCount: 9))) }
        try fs.removeFile("/a/b/c/sub/too")
        try fs.removeDirectory("/a/b/c/sub")
        try fs.removeFile("/a/b/c/inherits")
        let changed = try fs.setAttributes("/a/b/renamed", AttributeChanges(mode: 0o600))
        #expect(changed.mode == 0o600)
        let moment = Timestamp(seconds: 1_234_567_890, nanoseconds: 42)
        let touched = try fs.setAttributes("/a/b/renamed", AttributeChanges(accessTime: .at(moment), modifyTime: .at(moment)))
        #expect(touched.accessTime == moment && touched.modifyTime == moment && touched.changeTime > moment)
        #expect(try fs.stat("/a/b/renamed").modifyTime == moment)

        // A second client that knows only one server's port learns the rest from it.
        let lookup = try fixture.names.names(["lookup", "trellis-fs/\(fixture.name)/2"])
        let port = lookup.output.split(separator: "\n").last.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        let second = try FileSystemClient.connect(portName: port, runtime: fs.runtime, credentials: Credentials(uid: 0, gid: 0))
        #expect(second.configuration.servers.count == 4, "\(lookup.combined)")
        #expect(try second.stat("/a/b/renamed").handle == changed.handle)
        second.close()

        for index in 0..<25 { try fs.createFile("/a/many-\(index)") }
        var pages = 0
        var seen = 0
        try fs.list("/a", pageSize: 10) { page in
            pages += 1
            seen += page.count
        }
        #expect(seen == 27 && pages == 3)

        let statistics = try fs.statistics()
        #expect(statistics.objectCount >= 31 && statistics.totalBytes > 0)

        try fs.removeFile("/a/b/renamed")
        #expect(throws: FSError.self) { try fs.stat("/a/b/renamed") }
        try fs.removeDirectory("/a/b/c")
        #expect(try fs.list("/a/b").isEmpty)
    }

    @Test func stripingMatchesALocalReferenceFile() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 1000)
        let fs = try fixture.client()
        defer { fs.close() }
        let seed = UInt64.random(in: 0..<UInt64.max)
        print("striping seed \(seed)")
        var generator = SeededGenerator(seed: seed)
        try fs.createFile("/reference", distribution: try .variableStrip(stripSizesBytes: [700, 1300, 50, 4096]))
        try fs.createFile("/plain")
        var reference = [UInt8]()
        for round in 0..<60 {
            let offset = Int.random(in: 0..<60_000, using: &generator)
            let length = Int.random(in: 0..<9_000, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if reference.count < offset + length { reference += [UInt8](repeating: 0, count: offset + length - reference.count) }
            reference.replaceSubrange(offset..<offset + length, with: bytes)
            for path in ["/reference", "/plain"] { try fs.write(path, ByteBuffer(bytes: bytes), at: UInt64(offset)) }
            if round % 10 == 9 {
                for path in ["/reference", "/plain"] {
                    #expect(try fs.stat(path).size == UInt64(reference.count), "seed \(seed) round \(round) \(path)")
                    let readOffset = Int.random(in: 0..<reference.count, using: &generator)
                    let readLength = Int.random(in: 0..<20_000, using: &generator)
                    let expected = Array(reference[readOffset..<min(reference.count, readOffset + readLength)])
                    #expect(Array(try fs.read(path, at: UInt64(readOffset), length: UInt64(readLength)).readableBytesView) == expected, "seed \(seed) round \(round) \(path)")
                }
            }
        }
        // The strided partition of the PVFS paper (Carns, Ligon, Ross and Thakur, "PVFS: A Parallel File System
        // for Linux Clusters"): groups of 512 every 2048 bytes.
        let pattern = try AccessPattern.strided(offset: 3, groupSize: 512, stride: 2048, count: 20)
        let strided = try fs.read("/reference", pattern: pattern)
        var expected: [UInt8] = []
        for group in 0..<20 { expected += reference[3 + group * 2048..<3 + group * 2048 + 512] }
        #expect(Array(strided.readableBytesView) == expected, "seed \(seed)")
    }

    /// A server is SIGKILLed in the middle of a workload and started again a
    /// moment later; the client's calls retry until it is back, and every
    /// byte written before, during and after reads back right.
    @Test func aServerKilledAndRestartedMidWorkload() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 2048)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.createFile("/survivor")
        var reference = [UInt8](repeating: 0, count: 64 * 8192)
        let restarted = DispatchSemaphore(value: 0)
        for round in 0..<64 {
            if round == 20 {
                fixture.killServer(2)
                DispatchQueue.global().async {
                    // Down for a second: long enough that writes meanwhile must retry.
                    usleep(1_000_000)
                    try? fixture.startServer(2)
                    restarted.signal()
                }
            }
            let bytes = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ round) }
            reference.replaceSubrange(round * 8192..<(round + 1) * 8192, with: bytes)
            #expect(try fs.write("/survivor", ByteBuffer(bytes: bytes), at: UInt64(round * 8192)) == 8192, "round \(round)")
        }
        #expect(restarted.wait(timeout: .now() + 60) == .success)
        #expect(try fs.stat("/survivor").size == UInt64(reference.count))
        #expect(Array(try fs.read("/survivor", at: 0, length: UInt64(reference.count)).readableBytesView) == reference)
        // Metadata on the restarted server works too.
        try fs.makeDirectories("/after/restart")
        #expect(try fs.list("/after").map(\.name) == ["restart"])
    }

    /// Creates and removes, which must not be done twice, go on while the
    /// server that holds their directory is SIGKILLed and restarted: a
    /// request caught by the kill is sent again with its id, and answered
    /// from the server's record when it had been done, so none fails with
    /// "exists" or "no such entry" and the directory ends as the client left it.
    @Test func createsAndRemovesCaughtByAServerRestartAreDoneOnce() throws {
        let fixture = try FileSystemFixture(servers: 2)
        let fs = try fixture.client()
        defer { fs.close() }
        let directory = try fs.makeDirectory("/burst")
        let owner = try #require(directory.handle.server)
        let restarted = DispatchSemaphore(value: 0)
        let rounds = Atomic<Int>(0)
        DispatchQueue.global().async {
            // From another thread, so each kill lands while a request is on its way or being answered.
            for killAt in [60, 160, 260] {
                while rounds.load(ordering: .relaxed) < killAt { usleep(1_000) }
                fixture.killServer(owner)
                usleep(300_000)
                try? fixture.startServer(owner)
            }
            restarted.signal()
        }
        var expected = Set<String>()
        // By handle, so every request goes to the directory's server and none is idempotent.
        for round in 0..<360 {
            rounds.store(round, ordering: .relaxed)
            try fs.createFile(inDirectory: directory.handle, named: "f\(round)")
            expected.insert("f\(round)")
            if round % 3 == 2 {
                try fs.removeFile(named: "f\(round - 1)", in: directory.handle)
                expected.remove("f\(round - 1)")
            }
        }
        #expect(restarted.wait(timeout: .now() + 60) == .success)
        #expect(Set(try fs.list("/burst").map(\.name)) == expected)
    }

    /// Garbage, truncated requests, unknown operations and messages on
    /// stray tags, sent straight to a server: it drops them and goes on
    /// serving, this client and others.
    @Test func malformedRequestsLeaveTheServerRunning() throws {
        let fixture = try FileSystemFixture(servers: 2)
        for (key, value) in fixture.environment { setenv(key, value, 1) }
        let runtime = try Runtime.initialize(asSingleton: true)
        defer { try? runtime.finalize() }
        let port = try runtime.lookup(name: "trellis-fs/\(fixture.name)/0", deadline: .after(seconds: 30))
        let server = try runtime.selfCommunicator.connect(to: port, deadline: .after(seconds: 30))
        let valid = FSRequestEnvelope(requestID: 1, credentials: Credentials(uid: 0, gid: 0), operation: Lookup(parent: .root, name: "x")).encoded()
        var junk: [ByteBuffer] = [ByteBuffer(), ByteBuffer(bytes: [1]), ByteBuffer(repeating: 0xFF, count: 100_000), valid.getSlice(at: 0, length: valid.readableBytes - 3)!]
        var unknown = valid
        unknown.setInteger(UInt16(999), at: 2, endianness: .little)
        junk.append(unknown)
        var seed = SeededGenerator(seed: 7)
        for _ in 0..<50 { junk.append(ByteBuffer(bytes: (0..<Int.random(in: 1..<200, using: &seed)).map { _ in UInt8.random(in: 0...255, using: &seed) })) }
        for message in junk { try server.send(message, to: 0, tag: MessageTags.request, deadline: .after(seconds: 30)) }
        for tag in [0, 2, 77, 1 << 20] { try server.send(ByteBuffer(string: "stray"), to: 0, tag: tag, deadline: .after(seconds: 30)) }
        // The same connection still gets answers.
        let reply = try server.ireceive(from: .rank(0), tag: .tag(MessageTags.reply(to: 2)))
        try server.send(FSRequestEnvelope(requestID: 2, credentials: Credentials(uid: 0, gid: 0), operation: GetAttributes(.root)).encoded(), to: 0, tag: MessageTags.request)
        let answer = try FSReplyEnvelope.decode(try reply.wait(deadline: .after(seconds: 30)).payload)
        let root = try answer.reply(to: GetAttributes.self)
        #expect(root.handle == .root && root.kind == .directory)
        try server.disconnect(deadline: .after(seconds: 30))
        // And a new client is served.
        let fs = try FileSystemClient.connect(name: fixture.name, runtime: runtime)
        try fs.makeDirectory("/still-serving")
        #expect(try fs.list("/").map(\.name) == ["still-serving"])
        #expect(JobHarness.isAlive(fixture.serverPIDs[0]))
    }

    /// 8 client processes write disjoint, interleaved blocks of one file at
    /// once, without locks; every byte is then exactly what its writer wrote.
    @Test func eightConcurrentWritersOfDisjointRegions() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 3000)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.createFile("/shared")
        let (writers, block, rounds) = (8, 5000, 12)
        var environment = ProcessEnvironment.current()
        environment.merge(fixture.environment) { _, new in new }
        environment.merge([
            "TRELLIS_TEST_FS_NAME": fixture.name, "TRELLIS_TEST_FS_PATH": "/shared", "TRELLIS_TEST_WRITERS": String(writers),
            "TRELLIS_TEST_BLOCK": String(block), "TRELLIS_TEST_ROUNDS": String(rounds),
        ]) { _, new in new }
        let log = fixture.folder + "/writers.log"
        var pids: [pid_t] = []
        for writer in 0..<writers {
            var mine = environment
            mine["TRELLIS_TEST_WRITER"] = String(writer)
            pids.append(try ProcessSpawner.spawn(arguments: [JobHarness.conformance, "fs-writer"], environment: mine, logPath: log))
        }
        let statuses = pids.map { ProcessSpawner.waitForExit($0) }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(statuses.allSatisfy { $0 == 0 }, "\(statuses)\n\(output)")
        #expect(output.components(separatedBy: "WRITER ").count - 1 == writers, "\(output)")
        let total = writers * block * rounds
        #expect(try fs.stat("/shared").size == UInt64(total))
        let content = Array(try fs.read("/shared", at: 0, length: UInt64(total)).readableBytesView)
        var wrong = 0
        for round in 0..<rounds {
            for writer in 0..<writers {
                let start = (round * writers + writer) * block
                for index in 0..<block where content[start + index] != UInt8(truncatingIfNeeded: writer &* 41 &+ round &+ (round * block + index)) {
                    wrong += 1
                }
            }
        }
        #expect(wrong == 0, "\(wrong) of \(total) bytes differ")
    }

    /// The `trellis fs` commands against real servers, checked through their JSON.
    @Test func theCommandLineCopiesListsAndReportsInJSON() throws {
        let fixture = try FileSystemFixture(servers: 3)
        let trellis = JobHarness.trellis
        func fs(_ arguments: [String]) throws -> JobHarness.Outcome {
            try JobHarness.run([trellis, "fs", arguments[0], "--name", fixture.name] + arguments.dropFirst(), environment: fixture.environment, timeoutSeconds: 120)
        }
        let local = fixture.folder + "/local.bin"
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: local))
        #expect(try fs(["mkdir", "-p", "/x/y"]).status == 0)
        let copyIn = try fs(["cp", "--json", local, "fs:/x/y/"])
        #expect(copyIn.status == 0 && copyIn.output.contains("\"bytes\":300000"), "\(copyIn.combined)")
        let listing = try fs(["ls", "--json", "/x/y"])
        #expect(listing.output.contains("\"path\":\"/x/y/local.bin\"") && listing.output.contains("\"size\":300000"), "\(listing.combined)")
        let back = fixture.folder + "/back.bin"
        #expect(try fs(["cp", "fs:/x/y/local.bin", back]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: back)) == Data(bytes))
        #expect(try fs(["mv", "/x/y/local.bin", "/x/moved.bin"]).status == 0)
        #expect(try fs(["stat", "--json", "/x/moved.bin"]).output.contains("\"kind\":\"file\""))
        let df = try fs(["df", "--json"])
        #expect(df.status == 0 && df.output.contains("\"servers\":3"), "\(df.combined)")
        let ping = try fs(["ping", "--json"])
        #expect(ping.status == 0 && ping.output.components(separatedBy: "\"ok\":true").count == 4, "\(ping.combined)")
        // A failed rm names the problem; rm -r removes the tree.
        let refused = try fs(["rm", "/x"])
        #expect(refused.status != 0 && refused.errors.contains("rm -r"), "\(refused.combined)")
        #expect(try fs(["rm", "-r", "/x"]).status == 0)
        #expect(try fs(["ls", "/"]).output.isEmpty)
        // ping names a server that is down.
        fixture.killServer(1)
        let down = try fs(["ping"])
        #expect(down.status != 0 && down.output.contains("server 1") && down.output.contains("FAILED"), "\(down.combined)")
    }

    /// Bad input through the client: each gets a clear error and nothing changes.
    @Test func badInputThroughTheClientIsRefusedAndLosesNothing() throws {
        let fixture = try FileSystemFixture(servers: 4)
        let fs = try fixture.client()
        defer { fs.close() }
        fs.credentials = Credentials(uid: 0, gid: 0)
        try fs.makeDirectory("/private", mode: 0o700)
        try fs.write("/private/secret", ByteBuffer(string: "keep"), at: 0, create: true)
        try fs.makeDirectories("/full/sub")
        func code(_ body: () throws -> Void) -> FSError.Code? {
            do { try body() } catch let error as FSError { return error.code } catch { return nil }
            return nil
        }
        #expect(code { try fs.createFile("/a/b") } == .notFound)
        #expect(code { try fs.createFile("/private/x\u{0}y") } == .invalidArgument)
        #expect(code { try fs.makeDirectory("/" + String(repeating: "n", count: 256)) } == .nameTooLong)
        #expect(code { try fs.removeDirectory("/full") } == .notEmpty)
        #expect(code { try fs.removeFile("/full") } == .isDirectory)
        #expect(code { try fs.makeDirectory("/full") } == .exists)
        #expect(code { _ = try fs.read("/full", at: 0, length: 1) } == .isDirectory)
        fs.credentials = Credentials(uid: 1000, gid: 1000)
        #expect(code { try fs.createFile("/private/mine") } == .permissionDenied)
        #expect(code { _ = try fs.list("/private") } == .permissionDenied)
        #expect(code { try fs.removeFile("/private/secret") } == .permissionDenied)
        #expect(code { try fs.setAttributes("/full", AttributeChanges(mode: 0o777)) } == .notPermitted)
        #expect(code { _ = try fs.open("/full/sub", access: .read) } == .isDirectory)
        fs.credentials = Credentials(uid: 0, gid: 0)
        try fs.write("/full/readonly", ByteBuffer(string: "r"), at: 0, create: true)
        _ = try fs.setAttributes("/full/readonly", AttributeChanges(mode: 0o444))
        fs.credentials = Credentials(uid: 1000, gid: 1000)
        #expect(code { _ = try fs.open("/full/readonly", access: .write) } == .permissionDenied)
        #expect(try fs.open("/full/readonly", access: .read).read(at: 0, length: 1) == ByteBuffer(string: "r"))
        fs.credentials = Credentials(uid: 0, gid: 0)
        #expect(try fs.read("/private/secret", at: 0, length: 10) == ByteBuffer(string: "keep"))
        #expect(try fs.list("/full").map(\.name) == ["readonly", "sub"])
        #expect(try fs.list("/").map(\.name) == ["full", "private"])
    }

    /// Directories spread over the servers by the hash of their names, and
    /// mkdir, rmdir, rename and lookups work across servers.
    @Test func directoriesSpreadOverServersAndWorkAcrossThem() throws {
        let fixture = try FileSystemFixture(servers: 4)
        let fs = try fixture.client()
        defer { fs.close() }
        var owners = Set<Int>()
        for index in 0..<24 {
            let made = try fs.makeDirectory("/d\(index)")
            owners.insert(made.handle.server!)
            try fs.write("/d\(index)/f", ByteBuffer(string: "file \(index)"), at: 0, create: true)
        }
        #expect(owners.count == 4, "directories on servers \(owners)")
        // readdirplus: attributes of directories on every server, and files' sizes.
        var detailed: [DetailedEntry] = []
        try fs.listWithAttributes("/", pageSize: 7) { detailed += $0 }
        #expect(detailed.count == 24 && detailed.allSatisfy { $0.attributes.kind == .directory && $0.attributes.linkCount >= 2 })
        var files: [DetailedEntry] = []
        try fs.listWithAttributes("/d3") { files += $0 }
        #expect(files.map(\.name) == ["f"] && files.first?.attributes.size == UInt64("file 3".utf8.count))
        for index in 0..<24 {
            #expect(try fs.read("/d\(index)/f", at: 0, length: 100) == ByteBuffer(string: "file \(index)"))
            #expect(try fs.stat("/d\(index)/f").handle.server == fs.stat("/d\(index)").handle.server, "a file lives with its directory")
        }
        // Find two directories on different servers and move a file and a directory between them.
        let a = try (0..<24).first { try fs.stat("/d\($0)").handle.server != fs.stat("/d0").handle.server }!
        // Across servers onto an existing file: the name is replaced, the old file's data goes.
        try fs.write("/d\(a)/moved", ByteBuffer(string: "to be replaced"), at: 0, create: true)
        let doomed = try fs.stat("/d\(a)/moved")
        try fs.rename("/d0/f", to: "/d\(a)/moved")
        #expect(try fs.stat("/d\(a)/moved").handle != doomed.handle)
        #expect(try fs.read("/d\(a)/moved", at: 0, length: 100) == ByteBuffer(string: "file 0"))
        #expect(throws: FSError.self) { try fs.stat("/d0/f") }
        try fs.makeDirectories("/d0/inner/deeper")
        try fs.rename("/d0/inner", to: "/d\(a)/inner")
        #expect(try fs.stat("/d\(a)/inner/deeper").kind == .directory)
        #expect(throws: FSError.self) { try fs.rename("/d\(a)/inner", to: "/d\(a)/inner/deeper/loop") }
        // Replacing a directory that lives on another server: refused while it is not empty.
        try fs.makeDirectories("/d\(a)/spare/child")
        #expect(throws: FSError.self) { try fs.rename("/d\(a)/inner", to: "/d\(a)/spare") }
        try fs.removeDirectory("/d\(a)/spare/child")
        try fs.rename("/d\(a)/inner", to: "/d\(a)/spare")
        #expect(try fs.stat("/d\(a)/spare/deeper").kind == .directory)
        try fs.rename("/d\(a)/spare", to: "/d\(a)/inner")
        // rmdir across servers: refused while not empty, then done.
        let remote = try (0..<24).first { try fs.stat("/d\($0)").handle.server != 0 }!
        #expect(throws: FSError.self) { try fs.removeDirectory("/d\(remote)") }
        #expect(try fs.list("/").count == 24)
        try fs.removeFile("/d\(remote)/f")
        for entry in try fs.list("/d\(remote)") where entry.kind == .directory {
            try fs.removeDirectory("/d\(remote)/\(entry.name)/deeper")
            try fs.removeDirectory("/d\(remote)/\(entry.name)")
        }
        for entry in try fs.list("/d\(remote)") where entry.kind == .file { try fs.removeFile("/d\(remote)/\(entry.name)") }
        try fs.removeDirectory("/d\(remote)")
        #expect(try fs.list("/").count == 23)
        #expect(throws: FSError.self) { try fs.stat("/d\(remote)") }
    }

    /// Servers whose storage fills up: the write that does not fit fails
    /// with no-space naming the server's storage, what was written before
    /// reads back, and once space is freed writes work again.
    @Test func aFullStorageFolderIsAClearErrorAndLosesNothing() throws {
        let fixture = try FileSystemFixture(servers: 2, stripSizeBytes: 65_536, storageBytes: 6 << 20)
        let fs = try fixture.client()
        defer { fs.close() }
        let chunk = ByteBuffer(bytes: (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        try fs.createFile("/filler")
        var written = 0
        var failure: FSError?
        while written < 40 {
            do {
                try fs.write("/filler", chunk, at: UInt64(written << 20))
                written += 1
            } catch let error as FSError {
                failure = error
                break
            }
        }
        #expect(failure?.code == .noSpace, "\(String(describing: failure))")
        #expect(failure?.message.contains("no space") == true, "\(String(describing: failure))")
        #expect(written > 2)
        for index in 0..<written {
            #expect(try fs.read("/filler", at: UInt64(index << 20), length: 1 << 20) == chunk, "chunk \(index)")
        }
        #expect(try fs.list("/").map(\.name) == ["filler"])
        try fs.removeFile("/filler")
        try fs.write("/after", ByteBuffer(string: "space again"), at: 0, create: true)
        #expect(try fs.read("/after", at: 0, length: 100) == ByteBuffer(string: "space again"))
        #expect(fixture.serverPIDs.allSatisfy { JobHarness.isAlive($0) })
    }
}
