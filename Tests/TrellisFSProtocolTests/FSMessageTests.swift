import NIOCore
import PropertyBased
import Testing
import TrellisFSDistribution
import TrellisFSProtocol

@Suite struct FSMessageTests {
    static let someAttributes = ObjectAttributes(
        handle: ObjectHandle(server: 3, serial: 77), kind: .file, mode: 0o640, uid: 1000, gid: 100,
        accessTime: Timestamp(seconds: 1, nanoseconds: 2), modifyTime: Timestamp(seconds: 3), changeTime: Timestamp(seconds: -4, nanoseconds: 999),
        linkCount: 1, size: 12345, distribution: try! .simpleStripe(stripSizeBytes: 65_536, datafileCount: 4, firstServer: 2),
        datafiles: [ObjectHandle(server: 2, serial: 5), ObjectHandle(server: 3, serial: 6)], sizeIsKnown: false)

    static let everyRequest: [FSRequest] = [
        .getConfiguration,
        .lookup(parent: .root, name: "file.txt"),
        .getAttributes(ObjectHandle(server: 2, serial: 9)),
        .setAttributes(.root, AttributeChanges(mode: 0o700, uid: nil, gid: 5, accessTime: .at(Timestamp(seconds: 9)), modifyTime: nil)),
        .setAttributes(.root, AttributeChanges(accessTime: .now, modifyTime: .at(Timestamp(seconds: -3, nanoseconds: 7)))),
        .createFile(parent: .root, name: "new", mode: 0o644, distribution: try! .variableStrip(stripSizesBytes: [1024, 4096], firstServer: 1), stuffed: false),
        .createFile(parent: .root, name: "plain", mode: 0o600, distribution: nil, stuffed: true),
        .makeDirectory(parent: .root, name: "dir", mode: 0o755),
        .symlink(parent: .root, name: "link", target: "../somewhere/ü"),
        .readLink(ObjectHandle(server: 1, serial: 2)),
        .remove(parent: .root, name: "gone", directory: true),
        .rename(fromParent: .root, fromName: "a", toParent: ObjectHandle(server: 1, serial: 5), toName: "b"),
        .readDirectory(.root, after: nil, limit: 100),
        .readDirectory(.root, after: "m", limit: 1),
        .statFileSystem,
        .read(datafile: ObjectHandle(server: 0, serial: 10), regions: [.init(offset: 0, length: 10), .init(offset: 100, length: 5)]),
        .write(datafile: ObjectHandle(server: 0, serial: 10), regions: [.init(offset: 7, length: 3)], data: ByteBuffer(bytes: [1, 2, 3])),
        .datafileSizes([ObjectHandle(server: 1, serial: 3), .root]),
        .truncateDatafile(ObjectHandle(server: 2, serial: 8), size: 1 << 40),
        .syncDatafiles([]),
        .removeDatafiles([ObjectHandle(server: 4, serial: 7)]),
        .createDirectoryObject(mode: 0o755, distribution: nil),
        .addEntry(parent: .root, name: "d", handle: ObjectHandle(server: 3, serial: 4), kind: .directory),
        .removeEntry(parent: .root, name: "d", handle: ObjectHandle(server: 3, serial: 4), owner: 1000),
        .removeObject(ObjectHandle(server: 3, serial: 4)),
        .readDirectoryWithAttributes(.root, after: "k", limit: 50),
        .replaceEntry(parent: .root, name: "r", handle: ObjectHandle(server: 1, serial: 9), kind: .file),
        .spreadFile(ObjectHandle(server: 1, serial: 9), datafiles: [ObjectHandle(server: 2, serial: 3)]),
        .createDatafiles(count: 3),
        .createFileWithDatafiles(
            parent: .root, name: "f", mode: 0o600, distribution: try! .simpleStripe(stripSizeBytes: 4096, datafileCount: 2),
            datafiles: [ObjectHandle(server: 0, serial: 3), ObjectHandle(server: 1, serial: 3)]),
        .fanOut(.createDatafiles(counts: [1, 0, 2]), servers: [2, 0, 1]),
        .fanOut(.removeDatafiles([ObjectHandle(server: 1, serial: 3)]), servers: [1]),
        .fanOut(.datafileSizes([]), servers: [0, 1, 2, 3]),
        .stat(ObjectHandle(server: 1, serial: 3)),
        .removeFile(parent: .root, name: "gone"),
        .getExtendedAttribute(.root, name: "user.a"),
        .setExtendedAttribute(.root, name: "user.b", value: ByteBuffer(bytes: [0, 1, 2]), mode: .createOnly),
        .listExtendedAttributes(ObjectHandle(server: 1, serial: 2)),
        .removeExtendedAttribute(.root, name: "user.c"),
        .link(ObjectHandle(server: 1, serial: 9), parent: .root, name: "second-name"),
        .scanObjects(after: nil, limit: 100),
        .scanEntries(after: EntryCursor(directory: .root, name: "m"), limit: 7),
        .orphanBstreams(graceSeconds: 60, remove: true),
        .setLinkCount(ObjectHandle(server: 2, serial: 5), count: 3),
        .restoreDatafiles([ObjectHandle(server: 0, serial: 12)]),
        .pooledDatafiles,
        .makeNode(parent: .root, name: "fifo", kind: .fifo, mode: 0o644, rdev: 0),
        .makeNode(parent: ObjectHandle(server: 2, serial: 5), name: "null", kind: .characterDevice, mode: 0o666, rdev: 0x0103),
    ]

    @Test func everyRequestRoundTrips() throws {
        for (index, request) in Self.everyRequest.enumerated() {
            let envelope = FSRequestEnvelope(requestID: UInt64(index) << 40, credentials: Credentials(uid: 7, gid: 8, groups: [9, 10]), request: request)
            #expect(try FSRequestEnvelope.decode(envelope.encoded()) == envelope, "\(request)")
        }
        #expect(Set(Self.everyRequest.map(\.operation)).count == 42)
    }

    @Test func everyReplyRoundTrips() throws {
        let replies: [Result<FSReply, FSError>] = [
            .success(.done),
            .success(.configuration(FSConfiguration(
                name: "scratch", servers: [ServerDescription(index: 0, serviceName: "trellis-fs/scratch/0", portName: "trellis-port://127.0.0.1:1/2/3", host: "node7")],
                defaultDistribution: try .simpleStripe(stripSizeBytes: 65_536, datafileCount: 1)))),
            .success(.attributes(Self.someAttributes)),
            .success(.linkTarget("target")),
            .success(.entries([DirectoryEntry(name: "x", handle: .root, kind: .directory)], more: true)),
            .success(.statistics(FSStatistics(totalBytes: 10, freeBytes: 5, objectCount: 3))),
            .success(.data(ByteBuffer(repeating: 9, count: 1000))),
            .success(.sizes([0, 1, UInt64.max])),
            .success(.written(42)),
            .success(.detailedEntries([DetailedEntry(name: "f", attributes: Self.someAttributes)], more: false)),
            .success(.handles([ObjectHandle(server: 2, serial: 8)])),
            .success(.names(["user.a", "user.ü"])),
            .success(.unlinked(remainingLinks: 2)),
            .success(.objects([Self.someAttributes], more: true)),
            .success(.entryRecords([EntryRecord(directory: .root, entry: DirectoryEntry(name: "x", handle: .root, kind: .directory))], more: false)),
            .success(.fanOutResult(FanOutResult(made: [.root], sized: [ObjectHandle(server: 1, serial: 2)], sizes: [77], failures: ["server 3: gone"]))),
            .failure(FSError(.notEmpty, "directory /a is not empty")),
            .failure(FSError(.named("future-code", errno: 99), "a code this build does not know")),
        ]
        for result in replies {
            let envelope = FSReplyEnvelope(requestID: 5, result: result, steps: 7)
            #expect(try FSReplyEnvelope.decode(envelope.encoded()) == envelope)
        }
    }

    @Test func theFanOutTreeIsBinomialAndCoversEveryServerOnce() {
        for count in 1...40 {
            let servers = Array(0..<count)
            var reached: [Int] = []
            var deepest = 0
            func walk(_ list: [Int], depth: Int) {
                reached.append(list[0])
                deepest = max(deepest, depth)
                for (order, subtree) in FanOutTree.subtrees(of: list).enumerated() { walk(subtree, depth: depth + order + 1) }
            }
            walk(servers, depth: 0)
            #expect(reached.sorted() == servers, "\(count)")
            // With one send per time step, the last server hears of the work after ceil(log2 N) steps.
            #expect(deepest == FanOutTree.depth(serverCount: count), "\(count)")
        }
    }

    @Test func handlesNameTheirServer() {
        #expect(ObjectHandle.root.server == 0 && ObjectHandle.root.serial == 1)
        #expect(ObjectHandle(server: 41, serial: 5).server == 41)
        #expect(ObjectHandle(rawValue: 12).server == nil)
    }

    /// Every prefix of every valid message, and random bytes, decode to an
    /// error or a value: never a crash, never a read past the end.
    @Test func truncatedAndRandomMessagesAreErrors() async throws {
        for request in Self.everyRequest {
            let bytes = Array(FSRequestEnvelope(requestID: 1, credentials: Credentials(uid: 0, gid: 0), request: request).encoded().readableBytesView)
            for length in 0..<bytes.count {
                #expect(throws: FSError.self) { try FSRequestEnvelope.decode(ByteBuffer(bytes: bytes[0..<length])) }
            }
            #expect(throws: FSError.self) { try FSRequestEnvelope.decode(ByteBuffer(bytes: bytes + [0])) }
        }
        await propertyCheck(count: 3000, input: Gen.uint8().array(of: 0...120)) { bytes in
            var prefixed = ByteBuffer()
            prefixed.writeInteger(UInt16(1), endianness: .little)
            prefixed.writeBytes(bytes)
            _ = try? FSRequestEnvelope.decode(prefixed)
            _ = try? FSReplyEnvelope.decode(prefixed)
        }
    }

    @Test func hostileLengthsAreRefusedBeforeAllocation() {
        var writer = WireWriter()
        writer.write(FSRequestEnvelope.protocolVersion)
        writer.write(UInt16(13))
        writer.write(UInt64(1))
        writer.write(Credentials(uid: 0, gid: 0))
        writer.write(ObjectHandle.root)
        writer.write(UInt32(0))
        writer.write(UInt32.max)  // region count
        #expect(throws: FSError.self) { try FSRequestEnvelope.decode(writer.buffer) }
    }

    @Test func permissionBitsFollowPosix() {
        var attributes = Self.someAttributes  // 0o640, uid 1000, gid 100
        let owner = Credentials(uid: 1000, gid: 1)
        let member = Credentials(uid: 2000, gid: 5, groups: [100])
        let other = Credentials(uid: 3000, gid: 3000)
        #expect(attributes.allows(6, for: owner))
        #expect(attributes.allows(4, for: member) && !attributes.allows(2, for: member))
        #expect(!attributes.allows(4, for: other))
        #expect(attributes.allows(6, for: Credentials(uid: 0, gid: 0)))
        #expect(!attributes.allows(1, for: Credentials(uid: 0, gid: 0)))
        attributes.mode = 0o604
        #expect(!attributes.allows(4, for: member) && attributes.allows(4, for: other))
    }
}

@Suite struct EntryNameTests {
    @Test func badNamesAreRefusedWithTheReason() {
        for (name, code) in [("", FSError.Code.invalidArgument), (".", .invalidArgument), ("..", .invalidArgument), ("a/b", .invalidArgument),
                             ("a\u{0}b", .invalidArgument), (String(repeating: "n", count: 256), .nameTooLong),
                             (String(repeating: "é", count: 128), .nameTooLong)] {
            #expect(throws: FSError.self) { try EntryName.validate(name) }
            #expect((try? EntryName.validate(name)) == nil)
            do { try EntryName.validate(name) } catch let error as FSError { #expect(error.code == code, "\(name.prefix(10))") } catch {}
        }
        for name in ["a", "...", ".hidden", String(repeating: "n", count: 255), "ü ñ"] {
            #expect(throws: Never.self) { try EntryName.validate(name) }
        }
    }

    @Test func pathsSplitIntoComponents() throws {
        #expect(try EntryName.components(ofAbsolute: "/") == [])
        #expect(try EntryName.components(ofAbsolute: "//a///b/") == ["a", "b"])
        #expect(throws: FSError.self) { try EntryName.components(ofAbsolute: "relative/path") }
        #expect(throws: FSError.self) { try EntryName.components(ofAbsolute: "/a/../b") }
    }
}
