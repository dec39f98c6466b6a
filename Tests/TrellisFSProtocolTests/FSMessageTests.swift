import NIOCore
import PropertyBased
import Testing
import TrellisFSDistribution
import TrellisFSProtocol

@Suite struct FSMessageTests {
    static let someAttributes = ObjectAttributes(
        handle: ObjectHandle(server: 3, serial: 77), kind: .file, mode: 0o640, uid: 1000, gid: 100,
        accessTime: Timestamp(seconds: 1, nanoseconds: 2), modifyTime: Timestamp(seconds: 3), changeTime: Timestamp(seconds: -4, nanoseconds: 999),
        linkCount: 1, size: 12345, distribution: try! Distribution.simpleStripe(stripSizeBytes: 65_536, datafileCount: 4, firstServer: 2).keeping(copies: 2),
        datafiles: [ObjectHandle(server: 2, serial: 5), ObjectHandle(server: 3, serial: 6)], sizeIsKnown: false)

    static let everyRequest = FSOperations.examples

    static let someCapability = Capability(
        object: ObjectHandle(server: 3, serial: 77), datafiles: [ObjectHandle(server: 2, serial: 5), ObjectHandle(server: 3, serial: 6)],
        rights: [.read, .write], uid: 1000, gid: 100, issuedMilliseconds: 1_800_000_000_250, expires: 1_800_000_600, issuer: 3, signature: Array(repeating: 0xA5, count: 32))

    /// Replies of every shape, by reply type; every operation's reply type must be here.
    static let sampleReplies: [ObjectIdentifier: [any WireCodable & Sendable]] = [
        ObjectIdentifier(Done.self): [Done()],
        ObjectIdentifier(FSConfiguration.self): [try! FSConfiguration(
            name: "scratch",
            servers: [ServerDescription(
                index: 0, serviceName: "trellis-fs/scratch/0", portName: "trellis-port://127.0.0.1:1/2/3", host: "node7",
                copies: ["trellis-fs/scratch/0/replica/1"]),
                ServerDescription(index: 1, serviceName: "trellis-fs/scratch/1/replica/0", portName: "", host: "node7")],
            defaultDistribution: try! .simpleStripe(stripSizeBytes: 65_536, datafileCount: 1), durability: "replicated", dataReplicas: [1])],
        ObjectIdentifier(ObjectAttributes.self): [someAttributes],
        ObjectIdentifier(Created.self): [Created(object: someAttributes, directoryBefore: DirectoryVersion(changeTime: Timestamp(seconds: 1_800_000_000, nanoseconds: 999_999_999), entries: 12))],
        ObjectIdentifier(String.self): ["../target", ""],
        ObjectIdentifier(LinksLeft.self): [LinksLeft(0), LinksLeft(2), LinksLeft(0, removal: someCapability)],
        ObjectIdentifier(Credentials.self): [Credentials(uid: 1000, gid: 100), Credentials(uid: 0, gid: 0, groups: [4, 27])],
        ObjectIdentifier(OpenedObject.self): [
            OpenedObject(attributes: someAttributes, capability: nil), OpenedObject(attributes: someAttributes, capability: someCapability),
        ],
        ObjectIdentifier(Renamed.self): [Renamed(replaced: nil), Renamed(replaced: LinksLeft(0))],
        ObjectIdentifier(Page<DirectoryEntry>.self): [Page(entries: [DirectoryEntry(name: "x", handle: .root, kind: .directory)], more: true)],
        ObjectIdentifier(Page<DetailedEntry>.self): [Page(entries: [DetailedEntry(name: "f", attributes: someAttributes)], more: false)],
        ObjectIdentifier(Page<ObjectAttributes>.self): [Page(entries: [someAttributes], more: true), Page<ObjectAttributes>(entries: [], more: false)],
        ObjectIdentifier(Page<EntryRecord>.self): [Page(entries: [EntryRecord(directory: .root, entry: DirectoryEntry(name: "x", handle: .root, kind: .directory))], more: false)],
        ObjectIdentifier(FSStatistics.self): [FSStatistics(totalBytes: 10, freeBytes: 5, objectCount: 3)],
        ObjectIdentifier(ByteBuffer.self): [ByteBuffer(repeating: 9, count: 1000), ByteBuffer()],
        ObjectIdentifier(Written.self): [Written(bytes: 42)],
        ObjectIdentifier(Sizes.self): [Sizes(bytes: [0, 1, UInt64.max])],
        ObjectIdentifier([ObjectHandle].self): [[ObjectHandle(server: 2, serial: 8)], [ObjectHandle]()],
        ObjectIdentifier([String].self): [["user.a", "user.ü"]],
        ObjectIdentifier(FanOutResult.self): [FanOutResult(made: [.root], sized: [ObjectHandle(server: 1, serial: 2)], sizes: [77], failures: ["server 3: gone"])],
        ObjectIdentifier(GroupView.self): [GroupView(epoch: 3, members: [2, 0], granted: true), GroupView(epoch: 0, members: [])],
        ObjectIdentifier(CopyStatus.self): [
            CopyStatus(group: 1, server: 2, role: .secondary, epoch: 3, members: [1, 2]),
            CopyStatus(group: 0, server: 0, role: .primary, epoch: 5, members: [0], memberStates: [
                MemberState(server: 1, state: .resyncing, owed: 12, full: true, sentBytes: 1 << 20, totalBytes: 1 << 22, sentObjects: 3, totalObjects: 9, milliseconds: 1500),
            ]),
        ],
        ObjectIdentifier(RemoveFile.Outcome.self): [RemoveFile.Outcome.removed(linksLeft: 0), RemoveFile.Outcome.objectOnServer(3)],
    ]

    @Test func theRegistryHasEveryOperationOnceWithExamples() {
        var codes: [UInt16] = []
        func check<Operation: FSOperation>(_: Operation.Type) {
            codes.append(Operation.code)
            let found = FSOperations.operation(code: Operation.code).map { ObjectIdentifier($0) }
            #expect(found == ObjectIdentifier(Operation.self), "\(Operation.name)")
            #expect(FSOperations.examples.contains { $0 is Operation }, "\(Operation.name) has no example")
            #expect(Self.sampleReplies[ObjectIdentifier(Operation.Reply.self)] != nil, "\(Operation.name)'s reply has no sample")
        }
        for kind in FSOperations.all { check(kind) }
        #expect(codes.sorted() == Array(1...UInt16(codes.count)))
        #expect(FSOperations.operation(code: 0) == nil)
        #expect(FSOperations.operation(code: 999) == nil)
    }

    @Test func everyRequestRoundTrips() throws {
        for (index, operation) in Self.everyRequest.enumerated() {
            let envelope = FSRequestEnvelope(
                requestID: UInt64(index) << 40, clientID: UInt64(index) &* 0x9E37_79B9_7F4A_7C15, credentials: Credentials(uid: 7, gid: 8, groups: [9, 10]),
                operation: operation, capability: index.isMultiple(of: 2) ? Self.someCapability : nil)
            #expect(try FSRequestEnvelope.decode(envelope.encoded()) == envelope, "\(operation)")
        }
    }

    @Test func everyReplyRoundTrips() throws {
        func check<Operation: FSOperation>(_: Operation.Type) throws {
            for case let reply as Operation.Reply in Self.sampleReplies[ObjectIdentifier(Operation.Reply.self)] ?? [] {
                let envelope = FSReplyEnvelope(requestID: 5, answering: Operation.self, .success(reply), steps: 7)
                let back = try FSReplyEnvelope.decode(envelope.encoded())
                #expect(back == envelope && back.steps == 7)
                #expect(try back.reply(to: Operation.self) == reply, "\(Operation.name)")
                // A reply cut short, or with bytes left over, is an error.
                let body = try envelope.result.get()
                if body.readableBytes > 0 {
                    #expect(throws: FSError.self) { try Operation.decodeReply(body.getSlice(at: body.readerIndex, length: body.readableBytes - 1)!) }
                }
                var longer = body
                longer.writeInteger(UInt8(0))
                #expect(throws: FSError.self) { try Operation.decodeReply(longer) }
            }
        }
        for kind in FSOperations.all { try check(kind) }
        for error in [FSError(.notEmpty, "directory /a is not empty"), FSError(.named("future-code", errno: 99), "a code this build does not know")] {
            let envelope = FSReplyEnvelope(requestID: 5, answering: Lookup.self, .failure(error), steps: 1)
            let back = try FSReplyEnvelope.decode(envelope.encoded())
            #expect(back == envelope)
            #expect(throws: error) { try back.reply(to: Lookup.self) }
        }
    }

    /// A read's bytes, served with room in front of them as `ReadData` serves
    /// them, go on the wire in the buffer they were read into: neither the
    /// reply's wire form nor its envelope copies them.
    @Test func aReadReplyGoesOnTheWireInTheBufferItWasReadInto() throws {
        let size = 1 << 20
        let room = FSReplyEnvelope.successHeaderBytes + WireWriter.lengthPrefixBytes
        var data = ByteBufferAllocator().buffer(capacity: room + size)
        data.moveWriterIndex(forwardBy: room)
        data.moveReaderIndex(forwardBy: room)
        data.writeRepeatingByte(7, count: size)
        WireWriter.prefixingItsLength(&data)
        let readInto = data.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) }
        let envelope = FSReplyEnvelope(requestID: 9, answering: ReadData.self, .success(consume data), steps: 2)
        let wire = envelope.encoded()
        #expect(wire.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) } + UInt(room) == readInto)
        let back = try FSReplyEnvelope.decode(wire)
        #expect(back.requestID == 9 && back.steps == 2)
        #expect(try back.reply(to: ReadData.self) == ByteBuffer(repeating: 7, count: size))
        // Bytes without the room, or whose room another holder shares, are copied and still encode right.
        var shared = ByteBuffer(repeating: 3, count: 100)
        let other = shared
        shared.moveReaderIndex(forwardBy: 50)
        let copied = try FSReplyEnvelope.decode(FSReplyEnvelope(requestID: 4, answering: ReadData.self, .success(shared), steps: 1).encoded())
        #expect(try copied.reply(to: ReadData.self) == ByteBuffer(repeating: 3, count: 50))
        #expect(other == ByteBuffer(repeating: 3, count: 100))
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
            let bytes = Array(FSRequestEnvelope(requestID: 1, credentials: Credentials(uid: 0, gid: 0), operation: request).encoded().readableBytesView)
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
        writer.write(ReadData.code)
        writer.write(UInt64(1))
        writer.write(UInt64(0))  // client id
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
