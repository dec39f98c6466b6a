import Foundation
import NIOCore
import Testing
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSServer
import TrellisFSStorage
import TrellisRuntime

/// One server's handler over a real SQLite database and real bstream files
/// in a fresh folder, with a root directory as `mkfs` makes it.
private final class HandlerFixture {
    let folder = NSTemporaryDirectory() + "trellis-handler-\(UUID().uuidString)"
    let handler: RequestHandler
    private var nextID: UInt64 = 1
    static let root = Credentials(uid: 0, gid: 0)
    static let alice = Credentials(uid: 1000, gid: 100)
    static let bob = Credentials(uid: 1001, gid: 101)

    init(primary: Bool = true, peers: PeerLinks? = nil) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let store = try SQLiteMetadataStore(path: folder + "/metadata.sqlite", serverIndex: 0)
        _ = try store.createObject(NewObject(kind: .directory, mode: 0o1777, uid: 0, gid: 0, time: Timestamp(seconds: 1)), handle: .root)
        let configuration = try FSConfiguration(
            name: "test", servers: (0..<4).map { ServerDescription(index: UInt32($0), serviceName: "trellis-fs/test/\($0)", portName: "") },
            defaultDistribution: try .simpleStripe(stripSizeBytes: 65_536, datafileCount: 4))
        var context = ServerContext(serverIndex: 0, configuration: configuration, metadata: store, bstreams: try BstreamStore(folder: folder + "/bstreams"))
        context.role = ReplicaRole(primary: primary)
        context.peers = peers
        handler = RequestHandler(context: context)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    /// Sends the operation through its wire form, as a client would, and
    /// decodes its typed reply.
    @discardableResult
    func call<Operation: FSOperation>(
        _ operation: Operation, as credentials: Credentials = HandlerFixture.alice, relayEpoch: UInt64? = nil
    ) throws -> (Operation.Reply, [FollowUp]) {
        nextID += 1
        let request = FSRequestEnvelope(requestID: nextID, credentials: credentials, operation: operation, relayEpoch: relayEpoch)
        let decoded = try FSRequestEnvelope.decode(request.encoded())
        let (reply, followUps) = handler.handle(decoded)
        let back = try FSReplyEnvelope.decode(reply.encoded())
        #expect(back.requestID == nextID)
        return (try back.reply(to: Operation.self), followUps)
    }

    func attributes<Operation: FSOperation>(_ operation: Operation, as credentials: Credentials = HandlerFixture.alice) throws -> ObjectAttributes
    where Operation.Reply == ObjectAttributes {
        try call(operation, as: credentials).0
    }

    /// The object a create made.
    func attributes<Operation: FSOperation>(_ operation: Operation, as credentials: Credentials = HandlerFixture.alice) throws -> ObjectAttributes
    where Operation.Reply == Created {
        try call(operation, as: credentials).0.object
    }

    func error(_ operation: some FSOperation, as credentials: Credentials = HandlerFixture.alice, relayEpoch: UInt64? = nil) -> FSError.Code? {
        do {
            _ = try call(operation, as: credentials, relayEpoch: relayEpoch)
            return nil
        } catch let error as FSError {
            return error.code
        } catch {
            return nil
        }
    }
}

@Suite struct RequestHandlerTests {
    /// Inside a commit shared with other requests no thread waits on a peer
    /// (the peer may need the serving thread that waits for this database):
    /// a spread create whose remote datafiles no pool holds is refused there
    /// with `needsPeers`, which its serving loop answers again on a
    /// thread of its own, and it leaves nothing behind. (Debug builds stop a
    /// thread that waits on a peer inside a shared commit, so a fan-out here
    /// would end the test run, not time out.)
    @Test func aCreateInsideASharedCommitNeverWaitsOnItsPeers() throws {
        let runtime = try Runtime.initialize(asSingleton: true)
        defer { try? runtime.finalize() }
        let peers = PeerLinks(runtime: runtime, serviceNames: (0..<4).map { ["handler-test-\(UUID().uuidString)/\($0)"] })
        defer { peers.close() }
        let fixture = try HandlerFixture(peers: peers)
        let create = CreateFile(parent: .root, name: "spread", mode: 0o644, distribution: nil, stuffed: false)
        let envelope = FSRequestEnvelope(requestID: 7, clientID: 9, credentials: HandlerFixture.alice, operation: create)
        let (reply, followUps) = try fixture.handler.context.metadata.sharingOneCommit { fixture.handler.handle(envelope) }
        guard case .failure(let error) = reply.result else {
            Issue.record("a create that needs its peers' datafiles was made inside a shared commit")
            return
        }
        #expect(error.code == .needsPeers, "\(error)")
        #expect(followUps.isEmpty)
        #expect(try fixture.handler.context.metadata.entry(in: .root, named: "spread") == nil)
        #expect(try fixture.handler.context.metadata.recordedReply(client: 9, request: 7) == nil, "a refusal to be answered again is not recorded")
    }

    /// A resend (same client, same request id) of a request that must not
    /// be done twice gets the first reply, success or error, and changes
    /// nothing more; another request id is a new request; a client without
    /// an id (0) gets nothing recorded.
    @Test func aResentRequestIsAnsweredFromTheRecordNotDoneTwice() throws {
        let fixture = try HandlerFixture()
        func send(_ operation: some FSOperation, client: UInt64, request: UInt64) throws -> FSReplyEnvelope {
            let envelope = try FSRequestEnvelope.decode(
                FSRequestEnvelope(requestID: request, clientID: client, credentials: HandlerFixture.alice, operation: operation).encoded())
            return try FSReplyEnvelope.decode(fixture.handler.handle(envelope).reply.encoded())
        }
        let client: UInt64 = 0xC0FFEE
        let made = try send(MakeDirectory(parent: .root, name: "once", mode: 0o755), client: client, request: 7)
        let again = try send(MakeDirectory(parent: .root, name: "once", mode: 0o755), client: client, request: 7)
        #expect(again == made)
        #expect(try made.reply(to: MakeDirectory.self).handle == fixture.attributes(Lookup(parent: .root, name: "once")).handle)
        #expect(throws: FSError.self) { try send(MakeDirectory(parent: .root, name: "once", mode: 0o755), client: client, request: 8).reply(to: MakeDirectory.self) }

        // A removal resent after it succeeded is not "no such entry".
        let removed = try send(Remove(parent: .root, name: "once", directory: true), client: client, request: 9)
        #expect(try removed.reply(to: Remove.self) == LinksLeft(0))
        #expect(try send(Remove(parent: .root, name: "once", directory: true), client: client, request: 9) == removed)
        #expect(fixture.error(Lookup(parent: .root, name: "once")) == .notFound)

        // Another client with the same request id is another request.
        let other = try send(MakeDirectory(parent: .root, name: "once", mode: 0o755), client: client + 1, request: 7)
        #expect(try other.reply(to: MakeDirectory.self).handle != made.reply(to: MakeDirectory.self).handle)
        // Without a client id, a resend is done again.
        _ = try send(MakeDirectory(parent: .root, name: "anonymous", mode: 0o755), client: 0, request: 3)
        #expect(throws: FSError.self) { try send(MakeDirectory(parent: .root, name: "anonymous", mode: 0o755), client: 0, request: 3).reply(to: MakeDirectory.self) }
    }

    /// A secondary copy answers clients with `notPrimary` and takes what a
    /// primary relays; a primary takes no changeset from anyone, nor any
    /// relayed change.
    @Test func aSecondaryTakesOnlyWhatAPrimarySends() throws {
        let primary = try HandlerFixture()
        #expect(primary.error(ApplyChanges(group: 0, changeset: ByteBuffer())) == .notPermitted)
        #expect(primary.error(DropBstreams([])) == .notPermitted)
        #expect(primary.error(MakeDirectory(parent: .root, name: "relayed", mode: 0o755), relayEpoch: 0) == .notPermitted)
        let secondary = try HandlerFixture(primary: false)
        #expect(secondary.error(Lookup(parent: .root, name: "x")) == .notPrimary)
        #expect(secondary.error(MakeDirectory(parent: .root, name: "x", mode: 0o755)) == .notPrimary)
        // A client's change is not a primary's, even of a kind a primary relays.
        #expect(secondary.error(ApplyChanges(group: 0, changeset: ByteBuffer())) == .notPrimary)
        #expect(secondary.error(WriteData(datafile: ObjectHandle(server: 0, serial: 77), regions: [.init(offset: 0, length: 1)], data: ByteBuffer(bytes: [1]))) == .notPrimary)
        #expect(secondary.error(ApplyChanges(group: 1, changeset: ByteBuffer()), relayEpoch: 0) == .invalidArgument)
        #expect(secondary.error(ApplyChanges(group: 0, changeset: ByteBuffer(bytes: [0x54, 0xff])), relayEpoch: 0) == .protocolViolation)
        try secondary.call(ApplyChanges(group: 0, changeset: ByteBuffer()), relayEpoch: 0)
        try secondary.call(DropBstreams([ObjectHandle(server: 0, serial: 77)]), relayEpoch: 3)
        // A write passed on for a datafile the copy does not have is refused, as on a primary.
        #expect(secondary.error(WriteData(datafile: ObjectHandle(server: 0, serial: 77), regions: [.init(offset: 0, length: 1)], data: ByteBuffer(bytes: [1])), relayEpoch: 0) == .staleHandle)
    }

    @Test func everyOperationOfTheRegistryHasAHandler() {
        for kind in FSOperations.all { #expect(RequestHandler.serves(kind), "\(kind.name)") }
    }

    @Test func anAggregateUnlinkOfAnObjectElsewhereSaysWhereAndChangesNothing() throws {
        let fixture = try HandlerFixture()
        let far = ObjectHandle(server: 2, serial: 1 << 40)
        try fixture.call(AddEntry(parent: .root, name: "far", handle: far, kind: .file))
        #expect(try fixture.call(RemoveFile(parent: .root, name: "far")).0 == .objectOnServer(2))
        #expect(try fixture.call(ReadDirectory(.root, after: nil, limit: 10)).0.entries.map(\.name) == ["far"])
        let near = try fixture.attributes(CreateFile(parent: .root, name: "near", mode: 0o644, distribution: nil, stuffed: true))
        let (outcome, followUps) = try fixture.call(RemoveFile(parent: .root, name: "near"))
        #expect(outcome == .removed(linksLeft: 0) && followUps.isEmpty)
        #expect(fixture.error(GetAttributes(near.handle)) == .staleHandle)
    }

    /// A create's reply shows its directory as it was just before, and the
    /// directory after it is that version moved by exactly this create:
    /// what a mount that knows the directory's names checks.
    @Test func aCreateShowsItsDirectoryJustBefore() throws {
        let fixture = try HandlerFixture()
        let directory = try fixture.attributes(MakeDirectory(parent: .root, name: "out", mode: 0o755))
        var expected = DirectoryVersion(directory)
        #expect(expected.entries == 0)
        for index in 0..<5 {
            let (created, _) = try fixture.call(CreateFile(parent: directory.handle, name: "f\(index)", mode: 0o644, distribution: nil, stuffed: true))
            #expect(created.directoryBefore == expected)
            expected = DirectoryVersion(changeTime: created.object.changeTime, entries: expected.entries + 1)
            #expect(DirectoryVersion(try fixture.attributes(GetAttributes(directory.handle))) == expected)
        }
        // A change that did not come through the create shows in the next one's reply.
        try fixture.call(Remove(parent: directory.handle, name: "f0", directory: false))
        let (next, _) = try fixture.call(CreateFile(parent: directory.handle, name: "g", mode: 0o644, distribution: nil, stuffed: true))
        #expect(next.directoryBefore != expected && next.directoryBefore.entries == 4)
    }

    @Test func createLookupListAndStat() throws {
        let fixture = try HandlerFixture()
        let directory = try fixture.attributes(MakeDirectory(parent: .root, name: "home", mode: 0o755))
        #expect(directory.kind == .directory && directory.uid == 1000 && directory.gid == 100 && directory.mode == 0o755)
        let file = try fixture.attributes(CreateFile(parent: directory.handle, name: "data.bin", mode: 0o644, distribution: nil, stuffed: true))
        #expect(file.distribution == (try Distribution.simpleStripe(stripSizeBytes: 65_536, datafileCount: 4)))
        #expect(try fixture.attributes(Lookup(parent: directory.handle, name: "data.bin")) == file)
        #expect(try fixture.attributes(GetAttributes(file.handle)).handle == file.handle)
        for index in 0..<30 { _ = try fixture.attributes(CreateFile(parent: directory.handle, name: "f\(index)", mode: 0o600, distribution: nil, stuffed: true)) }
        var names: [String] = []
        var after: String?
        repeat {
            let (entries, more) = try fixture.call(ReadDirectory(directory.handle, after: after, limit: 7)).0.split
            names += entries.map(\.name)
            after = more ? entries.last?.name : nil
        } while after != nil
        #expect(names.count == 31 && names == names.sorted())
        let statistics = try fixture.call(StatFileSystem()).0
        #expect(statistics.objectCount == 33 && statistics.totalBytes > 0)
    }

    @Test func badInputIsAnsweredWithClearErrors() throws {
        let fixture = try HandlerFixture()
        let directory = try fixture.attributes(MakeDirectory(parent: .root, name: "d", mode: 0o755))
        #expect(fixture.error(CreateFile(parent: .root, name: "a/b", mode: 0o644, distribution: nil, stuffed: true)) == .invalidArgument)
        #expect(fixture.error(CreateFile(parent: .root, name: "nul\u{0}", mode: 0o644, distribution: nil, stuffed: true)) == .invalidArgument)
        #expect(fixture.error(MakeDirectory(parent: .root, name: String(repeating: "x", count: 300), mode: 0o755)) == .nameTooLong)
        #expect(fixture.error(MakeDirectory(parent: .root, name: "d", mode: 0o755)) == .exists)
        #expect(fixture.error(Lookup(parent: .root, name: "missing")) == .notFound)
        #expect(fixture.error(Lookup(parent: ObjectHandle(server: 0, serial: 999), name: "x")) == .staleHandle)
        #expect(fixture.error(GetAttributes(ObjectHandle(server: 3, serial: 2))) == .staleHandle)
        _ = try fixture.attributes(CreateFile(parent: directory.handle, name: "inside", mode: 0o644, distribution: nil, stuffed: true))
        #expect(fixture.error(Remove(parent: .root, name: "d", directory: true)) == .notEmpty)
        #expect(fixture.error(Remove(parent: .root, name: "d", directory: false)) == .isDirectory)
        #expect(fixture.error(Remove(parent: directory.handle, name: "inside", directory: true)) == .notDirectory)
        let file = try fixture.attributes(Lookup(parent: directory.handle, name: "inside"))
        #expect(fixture.error(Lookup(parent: file.handle, name: "x")) == .notDirectory)
        #expect(fixture.error(ReadLink(file.handle)) == .notSymlink)
        #expect(fixture.error(CreateFile(parent: .root, name: "wide", mode: 0o644, distribution: try .simpleStripe(stripSizeBytes: 4096, datafileCount: 8), stuffed: true)) == .invalidArgument)
        #expect(fixture.error(Rename(fromParent: .root, fromName: "d", toParent: directory.handle, toName: "d2")) == .invalidArgument)
        // Nothing above changed the tree.
        #expect(try fixture.attributes(GetAttributes(directory.handle)).size == 1)
    }

    @Test func permissionsAreCheckedAgainstTheCaller() throws {
        let fixture = try HandlerFixture()
        let private_ = try fixture.attributes(MakeDirectory(parent: .root, name: "alice", mode: 0o700))
        #expect(fixture.error(CreateFile(parent: private_.handle, name: "x", mode: 0o644, distribution: nil, stuffed: true), as: HandlerFixture.bob) == .permissionDenied)
        #expect(fixture.error(ReadDirectory(private_.handle, after: nil, limit: 10), as: HandlerFixture.bob) == .permissionDenied)
        #expect(fixture.error(SetAttributes(private_.handle, AttributeChanges(mode: 0o777)), as: HandlerFixture.bob) == .notPermitted)
        #expect(fixture.error(SetAttributes(private_.handle, AttributeChanges(uid: 1001))) == .notPermitted)
        #expect(try fixture.attributes(SetAttributes(private_.handle, AttributeChanges(uid: 1001)), as: HandlerFixture.root).uid == 1001)
        // The root directory is sticky: bob cannot remove alice's file there.
        _ = try fixture.attributes(CreateFile(parent: .root, name: "alices", mode: 0o666, distribution: nil, stuffed: true))
        #expect(fixture.error(Remove(parent: .root, name: "alices", directory: false), as: HandlerFixture.bob) == .notPermitted)
        #expect(try fixture.call(Remove(parent: .root, name: "alices", directory: false)).0 == LinksLeft(0))
    }

    @Test func ownersTimesAndSetIDBitsFollowLinuxRules() throws {
        let fixture = try HandlerFixture()
        let file = try fixture.attributes(CreateFile(parent: .root, name: "f", mode: 0o6777, distribution: nil, stuffed: true))
        // chown: a non-owner may not even name the present owner; the owner may.
        #expect(fixture.error(SetAttributes(file.handle, AttributeChanges(uid: 1000)), as: HandlerFixture.bob) == .notPermitted)
        #expect(fixture.error(SetAttributes(file.handle, AttributeChanges(gid: 100)), as: HandlerFixture.bob) == .notPermitted)
        #expect(fixture.error(SetAttributes(file.handle, AttributeChanges(gid: 999))) == .notPermitted)
        // Explicit times are the owner's; "now" is anyone's who may write.
        let moment = TimeChange.at(Timestamp(seconds: 1_000))
        #expect(fixture.error(SetAttributes(file.handle, AttributeChanges(modifyTime: moment)), as: HandlerFixture.bob) == .notPermitted)
        #expect(try fixture.attributes(SetAttributes(file.handle, AttributeChanges(accessTime: .now, modifyTime: .now)), as: HandlerFixture.bob).modifyTime
            > Timestamp(seconds: 1_000))
        #expect(fixture.error(SetAttributes(file.handle, AttributeChanges(accessTime: .now)), as: HandlerFixture.bob) == .notPermitted)
        #expect(try fixture.attributes(SetAttributes(file.handle, AttributeChanges(modifyTime: moment))).modifyTime == Timestamp(seconds: 1_000))
        // A writer who is not the owner may drop set-ID bits, and nothing else.
        #expect(fixture.error(SetAttributes(file.handle, AttributeChanges(mode: 0o6775)), as: HandlerFixture.bob) == .notPermitted)
        // (and setgid goes too: bob is not in the file's group)
        #expect(try fixture.attributes(SetAttributes(file.handle, AttributeChanges(mode: 0o2777)), as: HandlerFixture.bob).mode == 0o777)
        // The owner's chown to itself is allowed, and drops both bits (set-group-ID with group execute).
        #expect(try fixture.attributes(SetAttributes(file.handle, AttributeChanges(mode: 0o6777))).mode == 0o6777)
        #expect(try fixture.attributes(SetAttributes(file.handle, AttributeChanges(uid: 1000))).mode == 0o777)
        let locked = try fixture.attributes(CreateFile(parent: .root, name: "locked", mode: 0o6745, distribution: nil, stuffed: true))
        #expect(try fixture.attributes(SetAttributes(locked.handle, AttributeChanges(uid: 5)), as: HandlerFixture.root).mode == 0o2745)
        let unwritable = try fixture.attributes(CreateFile(parent: .root, name: "ro", mode: 0o4755, distribution: nil, stuffed: true))
        #expect(fixture.error(SetAttributes(unwritable.handle, AttributeChanges(mode: 0o755)), as: HandlerFixture.bob) == .notPermitted)
        #expect(fixture.error(SetAttributes(unwritable.handle, AttributeChanges(modifyTime: .now)), as: HandlerFixture.bob) == .permissionDenied)
    }

    @Test func renameKeepsStickyAndDotDotRules() throws {
        let fixture = try HandlerFixture()
        let sticky = try fixture.attributes(MakeDirectory(parent: .root, name: "sticky", mode: 0o1777), as: HandlerFixture.root)
        let open = try fixture.attributes(MakeDirectory(parent: .root, name: "open", mode: 0o777), as: HandlerFixture.root)
        _ = try fixture.attributes(CreateFile(parent: sticky.handle, name: "alices", mode: 0o666, distribution: nil, stuffed: true))
        _ = try fixture.attributes(CreateFile(parent: open.handle, name: "bobs", mode: 0o666, distribution: nil, stuffed: true), as: HandlerFixture.bob)
        // Out of a sticky directory, and over another's entry in one.
        #expect(fixture.error(Rename(fromParent: sticky.handle, fromName: "alices", toParent: open.handle, toName: "x"), as: HandlerFixture.bob) == .notPermitted)
        #expect(fixture.error(Rename(fromParent: open.handle, fromName: "bobs", toParent: sticky.handle, toName: "alices"), as: HandlerFixture.bob) == .notPermitted)
        // A directory that moves to another parent needs write permission on itself; within its parent it does not.
        let roots = try fixture.attributes(MakeDirectory(parent: open.handle, name: "roots", mode: 0o755), as: HandlerFixture.root)
        #expect(fixture.error(Rename(fromParent: open.handle, fromName: "roots", toParent: .root, toName: "moved"), as: HandlerFixture.bob) == .permissionDenied)
        #expect(try fixture.call(Rename(fromParent: open.handle, fromName: "roots", toParent: open.handle, toName: "renamed"), as: HandlerFixture.bob).0 == Renamed(replaced: nil))
        #expect(try fixture.attributes(Lookup(parent: open.handle, name: "renamed")).handle == roots.handle)
    }

    @Test func directoriesCountTheirSubdirectoriesAsLinks() throws {
        let fixture = try HandlerFixture()
        let top = try fixture.attributes(MakeDirectory(parent: .root, name: "top", mode: 0o755))
        #expect(top.linkCount == 2)
        for name in ["a", "b", "c"] { _ = try fixture.attributes(MakeDirectory(parent: top.handle, name: name, mode: 0o755)) }
        _ = try fixture.attributes(CreateFile(parent: top.handle, name: "file", mode: 0o644, distribution: nil, stuffed: true))
        #expect(try fixture.attributes(GetAttributes(top.handle)).linkCount == 5)
        _ = try fixture.call(Rename(fromParent: top.handle, fromName: "a", toParent: .root, toName: "a"))
        _ = try fixture.call(Remove(parent: top.handle, name: "b", directory: true))
        #expect(try fixture.attributes(GetAttributes(top.handle)).linkCount == 3)
    }

    @Test func specialFilesHoldMetadataOnly() throws {
        let fixture = try HandlerFixture()
        let fifo = try fixture.attributes(MakeNode(parent: .root, name: "pipe", kind: .fifo, mode: 0o640, rdev: 77))
        #expect(fifo.kind == .fifo && fifo.mode == 0o640 && fifo.rdev == 0 && fifo.datafiles.isEmpty && fifo.uid == 1000)
        #expect(try fixture.attributes(MakeNode(parent: .root, name: "sock", kind: .socket, mode: 0o755, rdev: 0)).kind == .socket)
        // Device nodes are root's to make, and keep their device number.
        #expect(fixture.error(MakeNode(parent: .root, name: "null", kind: .characterDevice, mode: 0o666, rdev: 0x0103)) == .notPermitted)
        let device = try fixture.attributes(MakeNode(parent: .root, name: "null", kind: .characterDevice, mode: 0o666, rdev: 0x0103), as: HandlerFixture.root)
        #expect(device.rdev == 0x0103 && device.kind == .characterDevice)
        #expect(try fixture.attributes(Lookup(parent: .root, name: "null")).rdev == 0x0103)
        #expect(fixture.error(MakeNode(parent: .root, name: "dir", kind: .directory, mode: 0o755, rdev: 0)) == .invalidArgument)
        #expect(fixture.error(MakeNode(parent: .root, name: "pipe", kind: .fifo, mode: 0o644, rdev: 0)) == .exists)
        // They take hard links, attribute changes and removal like any file.
        #expect(try fixture.attributes(HardLink(fifo.handle, parent: .root, name: "pipe2")).linkCount == 2)
        #expect(try fixture.attributes(SetAttributes(fifo.handle, AttributeChanges(mode: 0o600))).mode == 0o600)
        #expect(try fixture.call(Remove(parent: .root, name: "pipe", directory: false)).0 == LinksLeft(1))
        #expect(try fixture.call(Remove(parent: .root, name: "pipe2", directory: false)).0 == LinksLeft(0))
        #expect(fixture.error(GetAttributes(fifo.handle)) == .staleHandle)
    }

    @Test func renameIsAtomicAndRemovesWhatItReplaces() throws {
        let fixture = try HandlerFixture()
        let a = try fixture.attributes(MakeDirectory(parent: .root, name: "a", mode: 0o755))
        let b = try fixture.attributes(MakeDirectory(parent: a.handle, name: "b", mode: 0o755))
        let old = try fixture.attributes(CreateFile(parent: .root, name: "old", mode: 0o644, distribution: nil, stuffed: true))
        let new = try fixture.attributes(CreateFile(parent: .root, name: "new", mode: 0o644, distribution: nil, stuffed: true))
        let (reply, followUps) = try fixture.call(Rename(fromParent: .root, fromName: "new", toParent: a.handle, toName: "old-name"))
        #expect(reply == Renamed(replaced: nil) && followUps.isEmpty)
        let (dropped, replaced) = try fixture.call(Rename(fromParent: a.handle, fromName: "old-name", toParent: .root, toName: "old"))
        #expect(dropped == Renamed(replaced: LinksLeft(0)) && replaced == [.removeBstreams(old.datafiles)] && old.datafiles.count == 1)
        #expect(try fixture.attributes(Lookup(parent: .root, name: "old")).handle == new.handle)
        #expect(fixture.error(GetAttributes(old.handle)) == .staleHandle)
        // A directory cannot move into its own subtree.
        #expect(fixture.error(Rename(fromParent: .root, fromName: "a", toParent: b.handle, toName: "loop")) == .invalidArgument)
        #expect(fixture.error(Rename(fromParent: .root, fromName: "old", toParent: .root, toName: "a")) == .isDirectory)
    }

    @Test func dataRequestsReadWhatWasWrittenAndRefuseOversizedOnes() throws {
        let fixture = try HandlerFixture()
        let file = try fixture.attributes(CreateFile(parent: .root, name: "f", mode: 0o644, distribution: nil, stuffed: true))
        // Stuffed: one datafile, here, and the size known without asking anyone else.
        #expect(file.isStuffed && file.datafiles.count == 1 && file.datafiles[0].server == 0 && file.sizeIsKnown && file.size == 0)
        let datafile = file.datafiles[0]
        let regions = [AccessPattern.Region(offset: 4, length: 4)]
        #expect(try fixture.call(WriteData(datafile: datafile, regions: regions, data: ByteBuffer(bytes: [1, 2, 3, 4]))).0 == Written(bytes: 4))
        // The hole before the bytes reads as zeros; the reply stops at the datafile's end, so a client can tell that from a hole.
        #expect(try fixture.call(ReadData(datafile: datafile, regions: [.init(offset: 2, length: 8)])).0 == (ByteBuffer(bytes: [0, 0, 1, 2, 3, 4])))
        #expect(try fixture.call(DatafileSizes([datafile])).0 == Sizes(bytes: [8]))
        #expect(try fixture.attributes(GetAttributes(file.handle)).size == 8)
        #expect(try fixture.call(TruncateDatafile(datafile, size: 5)).0 == Done())
        #expect(try fixture.attributes(Lookup(parent: .root, name: "f")).size == 5)
        #expect(fixture.error(ReadData(datafile: datafile, regions: [.init(offset: 0, length: 1 << 40)])) == .invalidArgument)
        // Handles that are not datafiles of this server make no bstream.
        #expect(fixture.error(WriteData(datafile: file.handle, regions: regions, data: ByteBuffer(bytes: [1, 2, 3, 4]))) == .staleHandle)
        #expect(fixture.error(WriteData(datafile: ObjectHandle(server: 0, serial: 9999), regions: regions, data: ByteBuffer(bytes: [1, 2, 3, 4]))) == .staleHandle)
        let (_, followUps) = try fixture.call(Remove(parent: .root, name: "f", directory: false))
        #expect(followUps == [.removeBstreams([datafile])])
        #expect(fixture.error(ReadData(datafile: datafile, regions: regions)) == .staleHandle)
    }

    @Test func aStuffedFileIsSpreadOnceWithDatafilesPlacedByItsDistribution() throws {
        let fixture = try HandlerFixture()
        let file = try fixture.attributes(CreateFile(parent: .root, name: "f", mode: 0o644, distribution: nil, stuffed: true))
        // This fixture is server 0 of 4: the client makes datafiles 1...3 on servers 1...3; here only one can be made.
        #expect(fixture.error(CreateFile(parent: .root, name: "g", mode: 0o644, distribution: nil, stuffed: false)) == .notSupported)
        let made = try fixture.call(CreateDatafiles(count: 3)).0
        #expect(made.count == 3 && Set(made).count == 3)
        // Datafiles on the wrong servers are refused, and so is a short list.
        #expect(fixture.error(SpreadFile(file.handle, datafiles: made)) == .invalidArgument)
        #expect(fixture.error(SpreadFile(file.handle, datafiles: [])) == .invalidArgument)
        let placed = [ObjectHandle(server: 1, serial: 5), ObjectHandle(server: 2, serial: 5), ObjectHandle(server: 3, serial: 5)]
        #expect(fixture.error(SpreadFile(file.handle, datafiles: placed), as: HandlerFixture.bob) == .permissionDenied)
        let spread = try fixture.attributes(SpreadFile(file.handle, datafiles: placed))
        #expect(!spread.isStuffed && spread.datafiles == file.datafiles + placed && !spread.sizeIsKnown)
        #expect(fixture.error(SpreadFile(file.handle, datafiles: placed)) == .exists)
    }

    @Test func hardLinksCountAndOnlyTheLastUnlinkDeletes() throws {
        let fixture = try HandlerFixture()
        let d = try fixture.attributes(MakeDirectory(parent: .root, name: "d", mode: 0o755))
        let file = try fixture.attributes(CreateFile(parent: .root, name: "f", mode: 0o644, distribution: nil, stuffed: true))
        #expect(try fixture.attributes(HardLink(file.handle, parent: d.handle, name: "g")).linkCount == 2)
        #expect(try fixture.attributes(Lookup(parent: d.handle, name: "g")).handle == file.handle)
        #expect(fixture.error(HardLink(file.handle, parent: d.handle, name: "g")) == .exists)
        #expect(fixture.error(HardLink(d.handle, parent: .root, name: "dir-link")) == .notPermitted)
        // A link whose directory lives on another server: only the count here.
        #expect(try fixture.attributes(HardLink(file.handle, parent: ObjectHandle(server: 2, serial: 9), name: "far")).linkCount == 3)
        #expect(try fixture.call(RemoveObject(file.handle)).0 == LinksLeft(2))
        let (first, kept) = try fixture.call(Remove(parent: .root, name: "f", directory: false))
        #expect(first == LinksLeft(1) && kept.isEmpty)
        let (last, removed) = try fixture.call(Remove(parent: d.handle, name: "g", directory: false))
        #expect(last == LinksLeft(0) && removed == [.removeBstreams(file.datafiles)])
        #expect(fixture.error(GetAttributes(file.handle)) == .staleHandle)
    }

    @Test func maintenanceRequestsAreForRootAndScanEverything() throws {
        let fixture = try HandlerFixture()
        let file = try fixture.attributes(CreateFile(parent: .root, name: "f", mode: 0o644, distribution: nil, stuffed: true))
        #expect(fixture.error(ScanObjects(after: nil, limit: 10)) == .permissionDenied)
        #expect(fixture.error(SetLinkCount(file.handle, count: 5)) == .permissionDenied)
        let (objects, more) = try fixture.call(ScanObjects(after: nil, limit: 10), as: HandlerFixture.root).0.split
        // The root, the file and its datafile.
        #expect(objects.map(\.handle) == [.root, file.handle, file.datafiles[0]].sorted { $0.serial < $1.serial } && !more)
        let records = try fixture.call(ScanEntries(after: nil, limit: 10), as: HandlerFixture.root).0.entries
        #expect(records == [EntryRecord(directory: .root, entry: DirectoryEntry(name: "f", handle: file.handle, kind: .file))])
        #expect(try fixture.attributes(SetLinkCount(file.handle, count: 3), as: HandlerFixture.root).linkCount == 3)
        #expect(fixture.error(SetLinkCount(file.handle, count: 0), as: HandlerFixture.root) == .invalidArgument)
        _ = try fixture.call(RemoveDatafiles(file.datafiles))
        #expect(fixture.error(DatafileSizes(file.datafiles)) == .staleHandle)
        _ = try fixture.call(RestoreDatafiles(file.datafiles), as: HandlerFixture.root)
        #expect(try fixture.call(DatafileSizes(file.datafiles)).0 == Sizes(bytes: [0]))
        // Only handles the server issued: a made-up one would take a serial from a later object.
        #expect(fixture.error(RestoreDatafiles([ObjectHandle(server: 0, serial: 1 << 40)]), as: HandlerFixture.root) == .invalidArgument)
        // The precreate pool is listed for fsck, to root only.
        let pooled = [ObjectHandle(server: 1, serial: 40), ObjectHandle(server: 3, serial: 41)]
        try fixture.handler.context.metadata.addToPool(pooled)
        #expect(fixture.error(PooledDatafiles()) == .permissionDenied)
        #expect(try fixture.call(PooledDatafiles(), as: HandlerFixture.root).0 == pooled)
    }
}

extension Page {
    var split: ([Element], Bool) { (entries, more) }
}
