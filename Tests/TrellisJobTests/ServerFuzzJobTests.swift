import Foundation
import NIOCore
import Synchronization
import Testing
import TrellisCore
import TrellisFSClient
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisRuntime
import TrellisSystem

/// Random, mutated and garbage requests straight to a live server, tens of
/// thousands of them from a printed seed (TRELLIS_FUZZ_SEED replays one,
/// TRELLIS_FUZZ_MESSAGES sets how many): the server never crashes or hangs,
/// and a well-behaved client is served correctly throughout and after.
@Suite(.serialized) struct ServerFuzzJobTests {
    @Test func theServerSurvivesRandomAndMutatedRequestsWhileServingAGoodClient() throws {
        let seed = ProcessEnvironment.value("TRELLIS_FUZZ_SEED").flatMap(UInt64.init) ?? UInt64.random(in: 0...UInt64.max)
        let total = ProcessEnvironment.value("TRELLIS_FUZZ_MESSAGES").flatMap(Int.init) ?? 30_000
        print("fuzz seed: \(seed) (replay with TRELLIS_FUZZ_SEED=\(seed)), \(total) messages")
        let fixture = try FileSystemFixture(servers: 3, stripSizeBytes: 4096)
        let setup = try fixture.client()
        defer { setup.close() }
        // The good client's corner, which the fuzz's uids may not enter. Its
        // objects live on servers 1 and 2 only: data servers trust requests
        // that name a datafile handle (as PVFS2 without capabilities), and a
        // flipped byte in a fuzz request could name one of the corner's
        // datafiles on server 0, the fuzz's target. Pooled datafiles have
        // serials next to the playground's, which made that likely.
        let good = try Self.makeDirectory(offServerZero: setup)
        try setup.setAttributes(good, AttributeChanges(
            uid: 4321, gid: 4321, distribution: try .simpleStripe(stripSizeBytes: 4096, datafileCount: 2)))
        // The fuzz's playground: objects whose handles it may name.
        try setup.makeDirectory("/play", mode: 0o777)
        var playground: [ObjectHandle] = [.root, try setup.lookup("/play").handle]
        for index in 0..<6 {
            try setup.write("/play/f\(index)", ByteBuffer(repeating: UInt8(index), count: index * 3000), at: 0, create: true)
            let made = try setup.stat("/play/f\(index)")
            playground += [made.handle] + made.datafiles
            playground.append(try setup.makeDirectory("/play/d\(index)", mode: 0o777).handle)
        }

        let runtime = setup.runtime
        let port = try runtime.lookup(name: "trellis-fs/\(fixture.name)/0", deadline: .after(seconds: 30))
        let server = try runtime.selfCommunicator.connect(to: port, deadline: .after(seconds: 30))
        defer { try? server.disconnect(deadline: .after(seconds: 30)) }

        // The good client works in its corner the whole time, as uid 4321.
        let goodFailures = Mutex<[String]>([])
        let goodRounds = Atomic(0)
        let fileSystem = fixture.name
        let worker = BackgroundLoop { shouldStop in
            do {
                let fs = try FileSystemClient.connect(name: fileSystem, runtime: runtime, credentials: Credentials(uid: 4321, gid: 4321), timeoutSeconds: 60)
                defer { fs.close() }
                var round = 0
                while !shouldStop() || round < 3 {
                    if let failure = Self.goodRound(fs, in: good, round) { goodFailures.withLock { $0.append(failure) } }
                    round += 1
                    goodRounds.store(round, ordering: .relaxed)
                }
            } catch {
                goodFailures.withLock { $0.append("connect: \(error)") }
            }
        }

        var fuzzer = RequestFuzzer(seed: seed, playground: playground)
        let batch = ProcessEnvironment.value("TRELLIS_FUZZ_BATCH").flatMap(Int.init) ?? 200
        var sent = 0
        var probeID: UInt64 = 1 << 63
        var handled = (succeeded: 0, refused: 0)
        defer { if !fixture.serverPIDs.allSatisfy(JobHarness.isAlive) { print(fixture.logTails(lines: 120)) } }
        while sent < total {
            for _ in 0..<min(batch, total - sent) {
                let (message, tag) = fuzzer.next()
                if batch == 1 { print("message \(sent) on tag \(tag): \(Array(message.readableBytesView.prefix(64)))") }
                try server.send(message, to: 0, tag: tag, deadline: .after(seconds: 60))
                sent += 1
            }
            // A probe after each batch: the server must answer it (no hang), correctly.
            probeID += 1
            let reply = try server.ireceive(from: .rank(0), tag: .tag(MessageTags.reply(to: probeID)))
            try server.send(FSRequestEnvelope(requestID: probeID, credentials: Credentials(uid: 1000, gid: 1000), operation: GetAttributes(.root)).encoded(), to: 0, tag: MessageTags.request)
            let answer = try FSReplyEnvelope.decode(try reply.wait(deadline: .after(seconds: 120)).payload)
            guard let root = try? answer.reply(to: GetAttributes.self), root.handle == .root else {
                Issue.record("seed \(seed): after \(sent) messages the probe got \(answer)")
                break
            }
            // Drop the replies to the fuzz's requests.
            while try server.iprobe(from: .rank(0), tag: .any) != nil {
                let drained = try server.ireceive(from: .rank(0), tag: .any).wait(deadline: .after(seconds: 30))
                switch (try? FSReplyEnvelope.decode(drained.payload))?.result {
                case .success: handled.succeeded += 1
                case .failure: handled.refused += 1
                case nil: Issue.record("seed \(seed): a reply that does not decode")
                }
            }
            guard fixture.serverPIDs.allSatisfy(JobHarness.isAlive) else {
                Issue.record("seed \(seed): a server died after \(sent) messages")
                break
            }
        }
        worker.finish()
        print("fuzz: \(handled.succeeded) requests done, \(handled.refused) refused with an error, the rest dropped as malformed")
        // The well-formed third must reach the handlers: many are refused, some succeed.
        #expect(handled.succeeded > total / 100 && handled.refused > total / 10, "seed \(seed): \(handled)")
        #expect(goodFailures.withLock { $0 }.isEmpty, "seed \(seed): \(goodFailures.withLock { $0 })")
        #expect(goodRounds.load(ordering: .relaxed) >= 3)
        #expect(fixture.serverPIDs.allSatisfy(JobHarness.isAlive), "seed \(seed)")
        // And after: a new client is served, and the good corner is intact.
        let after = try FileSystemClient.connect(name: fixture.name, runtime: runtime, credentials: Credentials(uid: 4321, gid: 4321), timeoutSeconds: 60)
        defer { after.close() }
        #expect(Self.goodRound(after, in: good, 1_000_000) == nil, "seed \(seed)")
    }

    /// A mode 0700 directory that the name hash placed on server 1, so that
    /// with two datafiles per file nothing of it lives on server 0.
    static func makeDirectory(offServerZero setup: FileSystemClient) throws -> String {
        for index in 0..<64 {
            let path = "/good\(index)"
            let made = try setup.makeDirectory(path, mode: 0o700)
            if made.handle.server == 1 { return path }
            try setup.removeDirectory(path)
        }
        throw FSError(.invalidArgument, "no name of 64 tried hashes to server 1")
    }

    /// One round of honest work, checked; nil when all of it was right.
    static func goodRound(_ fs: FileSystemClient, in directory: String, _ round: Int) -> String? {
        do {
            let path = "\(directory)/r\(round % 8)"
            let data = ByteBuffer(bytes: (0..<(1000 + round % 7 * 3000)).map { (index: Int) in UInt8(truncatingIfNeeded: index &+ round) })
            try fs.write(path, data, at: 0, create: true)
            guard try fs.read(path, at: 0, length: UInt64(data.readableBytes)) == data else { return "round \(round): \(path) read back wrong" }
            guard try fs.stat(path).size == UInt64(data.readableBytes) else { return "round \(round): \(path) has the wrong size" }
            guard try fs.list(directory).contains(where: { $0.name == "r\(round % 8)" }) else { return "round \(round): \(path) not listed" }
            try fs.removeFile(path)
            return nil
        } catch {
            return "round \(round): \(error)"
        }
    }
}

/// Makes the fuzz's messages: well-formed requests with random fields (a
/// third), mutated encodings of them (a third), and garbage, now and then
/// on a stray tag.
struct RequestFuzzer {
    var random: SeededGenerator
    let playground: [ObjectHandle]
    private var nextID: UInt64 = 1

    init(seed: UInt64, playground: [ObjectHandle]) {
        random = SeededGenerator(seed: seed)
        self.playground = playground
    }

    mutating func next() -> (ByteBuffer, tag: Int) {
        nextID += 1
        let tag = chance(1, in: 50) ? [0, 2, 77, Int.random(in: 0...Int(Int32.max), using: &random)].randomElement(using: &random)! : MessageTags.request
        let envelope = FSRequestEnvelope(requestID: nextID, credentials: credentials(), operation: operation())
        switch Int.random(in: 0..<3, using: &random) {
        case 0: return (envelope.encoded(), tag)
        case 1: return (mutate(envelope.encoded()), tag)
        default: return (ByteBuffer(bytes: bytes(Int.random(in: 0..<300, using: &random))), tag)
        }
    }

    private mutating func chance(_ count: Int, in out: Int) -> Bool { Int.random(in: 0..<out, using: &random) < count }
    private mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) } }
    private mutating func number<T: FixedWidthInteger>(_: T.Type = T.self) -> T {
        chance(1, in: 3) ? [0, 1, T.max, T.max - 1].randomElement(using: &random)! : T.random(in: 0...T(truncatingIfNeeded: 70_000), using: &random)
    }

    /// Ordinary uids (the good client's corner refuses them); now and then root, for maintenance.
    private mutating func credentials() -> Credentials {
        Credentials(uid: UInt32.random(in: 1000...1003, using: &random), gid: 1000, groups: chance(1, in: 5) ? [1, 2] : [])
    }

    private mutating func handle() -> ObjectHandle {
        switch Int.random(in: 0..<4, using: &random) {
        case 0, 1: return playground.randomElement(using: &random)!
        case 2: return ObjectHandle(server: Int.random(in: 0..<5, using: &random), serial: UInt64.random(in: (1 << 40)...(1 << 47), using: &random))
        default: return ObjectHandle(rawValue: UInt64.random(in: 0...UInt64.max, using: &random) | (1 << 62))
        }
    }

    private mutating func handles() -> [ObjectHandle] { (0..<Int.random(in: 0..<5, using: &random)).map { _ in handle() } }

    private mutating func name() -> String {
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return ""
        case 1: return String(repeating: "n", count: Int.random(in: 250...300, using: &random))
        case 2: return [".", "..", "a/b", "x\u{0}y", "ü", "user.a", "user." + String(repeating: "x", count: 300)].randomElement(using: &random)!
        default: return "p" + String(Int.random(in: 0..<40, using: &random))
        }
    }

    private mutating func distribution() -> Distribution? {
        guard chance(2, in: 3) else { return nil }
        if chance(1, in: 2) {
            return try? .simpleStripe(stripSizeBytes: UInt64.random(in: 1...(1 << 20), using: &random), datafileCount: Int.random(in: 1...4, using: &random))
        }
        return try? .variableStrip(stripSizesBytes: (0..<Int.random(in: 1...4, using: &random)).map { _ in UInt64.random(in: 1...100_000, using: &random) })
    }

    private mutating func regions() -> [AccessPattern.Region] {
        (0..<Int.random(in: 0..<4, using: &random)).map { _ in
            AccessPattern.Region(offset: chance(1, in: 10) ? UInt64.max - 10 : UInt64.random(in: 0...1 << 30, using: &random), length: UInt64.random(in: 0...9000, using: &random))
        }
    }

    private mutating func operation() -> any FSOperation {
        switch Int.random(in: 1...42, using: &random) {
        case 1: return GetConfiguration()
        case 2: return Lookup(parent: handle(), name: name())
        case 3: return GetAttributes(handle())
        case 4: return SetAttributes(handle(), AttributeChanges(mode: chance(1, in: 2) ? number() : nil, uid: chance(1, in: 4) ? number() : nil, distribution: distribution()))
        case 5: return CreateFile(parent: handle(), name: name(), mode: number(), distribution: distribution(), stuffed: chance(1, in: 2))
        case 6: return MakeDirectory(parent: handle(), name: name(), mode: number())
        case 7: return Symlink(parent: handle(), name: name(), target: chance(1, in: 2) ? name() : String(repeating: "t", count: 5000))
        case 8: return ReadLink(handle())
        case 9: return Remove(parent: handle(), name: name(), directory: chance(1, in: 2))
        case 10: return Rename(fromParent: handle(), fromName: name(), toParent: handle(), toName: name())
        case 11: return ReadDirectory(handle(), after: chance(1, in: 2) ? name() : nil, limit: number())
        case 12: return StatFileSystem()
        case 13: return ReadData(datafile: handle(), regions: regions())
        case 14:
            let regions = regions()
            let length = Int(min(regions.reduce(0) { $0 &+ $1.length }, 40_000))
            return WriteData(datafile: handle(), regions: regions, data: ByteBuffer(bytes: bytes(chance(1, in: 5) ? length / 2 : length)))
        case 15: return DatafileSizes(handles())
        case 16: return TruncateDatafile(handle(), size: chance(1, in: 5) ? UInt64.max : UInt64.random(in: 0...1 << 40, using: &random))
        case 17: return SyncDatafiles(handles())
        case 18: return RemoveDatafiles(handles())
        case 19: return CreateDirectoryObject(mode: number(), distribution: distribution())
        case 20: return AddEntry(parent: handle(), name: name(), handle: handle(), kind: ObjectKind.allCases.randomElement(using: &random)!)
        case 21: return RemoveEntry(parent: handle(), name: name(), handle: handle(), owner: number())
        case 22: return RemoveObject(handle())
        case 23: return ReadDirectoryWithAttributes(handle(), after: nil, limit: number())
        case 24: return ReplaceEntry(parent: handle(), name: name(), handle: handle(), kind: ObjectKind.allCases.randomElement(using: &random)!)
        case 25: return SpreadFile(handle(), datafiles: handles())
        case 26: return CreateDatafiles(count: number())
        case 27: return CreateFileWithDatafiles(parent: handle(), name: name(), mode: number(), distribution: distribution() ?? .defaultForFuzz, datafiles: handles())
        case 28:
            let servers = (0..<Int.random(in: 0...4, using: &random)).map { _ in UInt32.random(in: 0...4, using: &random) }
            let work: FanOutWork = [.createDatafiles(counts: servers.map { _ in number() }), .removeDatafiles(handles()), .datafileSizes(handles())]
                .randomElement(using: &random)!
            return FanOut(work, servers: servers)
        case 29: return Stat(handle())
        case 30: return RemoveFile(parent: handle(), name: name())
        case 31: return GetExtendedAttribute(handle(), name: name())
        case 32:
            return SetExtendedAttribute(
                handle(), name: name(), value: ByteBuffer(bytes: bytes(chance(1, in: 10) ? 70_000 : 20)),
                mode: ExtendedAttributeName.SetMode(rawValue: UInt8.random(in: 0...2, using: &random))!)
        case 33: return ListExtendedAttributes(handle())
        case 34: return RemoveExtendedAttribute(handle(), name: name())
        case 35: return HardLink(handle(), parent: handle(), name: name())
        case 36: return ScanObjects(after: chance(1, in: 2) ? handle() : nil, limit: number())
        case 37: return ScanEntries(after: chance(1, in: 2) ? EntryCursor(directory: handle(), name: name()) : nil, limit: number())
        case 38: return OrphanBstreams(graceSeconds: number(), remove: false)
        case 39: return SetLinkCount(handle(), count: number())
        case 40: return RestoreDatafiles(handles())
        case 41: return PooledDatafiles()
        default: return MakeNode(parent: handle(), name: name(), kind: ObjectKind.allCases.randomElement(using: &random)!, mode: number(), rdev: UInt64.random(in: 0...0xFFFF_FFFF, using: &random))
        }
    }

    /// Flipped bytes, cut or grown messages, changed operation codes, lying lengths.
    private mutating func mutate(_ message: ByteBuffer) -> ByteBuffer {
        var bytes = Array(message.readableBytesView)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<5, using: &random) {
            case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            case 1 where !bytes.isEmpty: bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
            case 2: bytes += self.bytes(Int.random(in: 1...64, using: &random))
            case 3 where bytes.count >= 4:
                let operation = UInt16.random(in: 0...45, using: &random)
                bytes[2] = UInt8(operation & 0xFF)
                bytes[3] = UInt8(operation >> 8)
            case 4 where bytes.count >= 8:
                // A 32-bit length somewhere past the header turned into a lie.
                let at = Int.random(in: 4...(bytes.count - 4), using: &random)
                let lie = [UInt32.max, UInt32.max / 2, 1 << 20, 65_537].randomElement(using: &random)!
                for offset in 0..<4 { bytes[at + offset] = UInt8(truncatingIfNeeded: lie >> (8 * UInt32(offset))) }
            default: break
            }
        }
        return ByteBuffer(bytes: bytes)
    }
}

extension Distribution {
    static let defaultForFuzz = try! Distribution.simpleStripe(stripSizeBytes: 4096, datafileCount: 2)
}
