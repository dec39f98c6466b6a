import NIOCore
import TrellisFSDistribution

/// Every operation a file-system server knows, by wire code: the one list
/// that request decoding, the servers' dispatch and the protocol tests all
/// work from. A new operation is a file of its own (and its handler's) plus
/// its line here and its examples below.
public enum FSOperations {
    /// Every operation a server answers; the opcode table, the dispatch and the protocol tests come from this list.
    public static let all: [any FSOperation.Type] = [
        GetConfiguration.self, Lookup.self, GetAttributes.self, SetAttributes.self, CreateFile.self, MakeDirectory.self, Symlink.self,
        ReadLink.self, Remove.self, Rename.self, ReadDirectory.self, StatFileSystem.self, ReadData.self, WriteData.self, DatafileSizes.self,
        TruncateDatafile.self, SyncDatafiles.self, RemoveDatafiles.self, CreateDirectoryObject.self, AddEntry.self, RemoveEntry.self,
        RemoveObject.self, ReadDirectoryWithAttributes.self, ReplaceEntry.self, SpreadFile.self, CreateDatafiles.self,
        CreateFileWithDatafiles.self, FanOut.self, Stat.self, RemoveFile.self, GetExtendedAttribute.self, SetExtendedAttribute.self,
        ListExtendedAttributes.self, RemoveExtendedAttribute.self, HardLink.self, ScanObjects.self, ScanEntries.self, OrphanBstreams.self,
        SetLinkCount.self, RestoreDatafiles.self, PooledDatafiles.self, MakeNode.self, ApplyChanges.self, DropBstreams.self,
        VoteForMembers.self, GetGroupView.self, RequestResync.self, BeginResync.self, ResyncMetadata.self, RecordGroupView.self,
        GetReplicaStatus.self, OpenObject.self, ProveIdentity.self, RevokeCapabilities.self,
    ]

    /// The operation with wire code `code`, if there is one.
    public static func operation(code: UInt16) -> (any FSOperation.Type)? { byCode[code] }

    private static let byCode: [UInt16: any FSOperation.Type] = Dictionary(all.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })

    /// Requests of every shape each operation's wire form takes, which the
    /// protocol tests round-trip, cut short and fuzz.
    public static let examples: [any FSOperation] = [
        GetConfiguration(),
        Lookup(parent: .root, name: "file.txt"),
        GetAttributes(ObjectHandle(server: 2, serial: 9)),
        SetAttributes(.root, AttributeChanges(mode: 0o700, uid: nil, gid: 5, accessTime: .at(Timestamp(seconds: 9)), modifyTime: nil)),
        SetAttributes(.root, AttributeChanges(accessTime: .now, modifyTime: .at(Timestamp(seconds: -3, nanoseconds: 7)))),
        CreateFile(parent: .root, name: "new", mode: 0o644, distribution: try! .variableStrip(stripSizesBytes: [1024, 4096], firstServer: 1), stuffed: false),
        CreateFile(parent: .root, name: "plain", mode: 0o600, distribution: nil, stuffed: true),
        MakeDirectory(parent: .root, name: "dir", mode: 0o755),
        Symlink(parent: .root, name: "link", target: "../somewhere/ü"),
        ReadLink(ObjectHandle(server: 1, serial: 2)),
        Remove(parent: .root, name: "gone", directory: true),
        Rename(fromParent: .root, fromName: "a", toParent: ObjectHandle(server: 1, serial: 5), toName: "b"),
        ReadDirectory(.root, after: nil, limit: 100),
        ReadDirectory(.root, after: "m", limit: 1),
        StatFileSystem(),
        ReadData(datafile: ObjectHandle(server: 0, serial: 10), regions: [.init(offset: 0, length: 10), .init(offset: 100, length: 5)]),
        WriteData(datafile: ObjectHandle(server: 0, serial: 10), regions: [.init(offset: 7, length: 3)], data: ByteBuffer(bytes: [1, 2, 3])),
        DatafileSizes([ObjectHandle(server: 1, serial: 3), .root]),
        TruncateDatafile(ObjectHandle(server: 2, serial: 8), size: 1 << 40),
        SyncDatafiles([]),
        RemoveDatafiles([ObjectHandle(server: 4, serial: 7)]),
        CreateDirectoryObject(mode: 0o755, distribution: nil),
        AddEntry(parent: .root, name: "d", handle: ObjectHandle(server: 3, serial: 4), kind: .directory),
        RemoveEntry(parent: .root, name: "d", handle: ObjectHandle(server: 3, serial: 4), owner: 1000),
        RemoveObject(ObjectHandle(server: 3, serial: 4)),
        ReadDirectoryWithAttributes(.root, after: "k", limit: 50),
        ReplaceEntry(parent: .root, name: "r", handle: ObjectHandle(server: 1, serial: 9), kind: .file),
        SpreadFile(ObjectHandle(server: 1, serial: 9), datafiles: [ObjectHandle(server: 2, serial: 3)]),
        CreateDatafiles(count: 3),
        CreateFileWithDatafiles(parent: .root, name: "f", mode: 0o600, distribution: try! .simpleStripe(stripSizeBytes: 4096, datafileCount: 2), datafiles: [ObjectHandle(server: 0, serial: 3), ObjectHandle(server: 1, serial: 3)]),
        FanOut(.createDatafiles(counts: [1, 0, 2]), servers: [2, 0, 1]),
        FanOut(.removeDatafiles([ObjectHandle(server: 1, serial: 3)]), servers: [1]),
        FanOut(.datafileSizes([]), servers: [0, 1, 2, 3]),
        Stat(ObjectHandle(server: 1, serial: 3)),
        RemoveFile(parent: .root, name: "gone"),
        GetExtendedAttribute(.root, name: "user.a"),
        SetExtendedAttribute(.root, name: "user.b", value: ByteBuffer(bytes: [0, 1, 2]), mode: .createOnly),
        ListExtendedAttributes(ObjectHandle(server: 1, serial: 2)),
        RemoveExtendedAttribute(.root, name: "user.c"),
        HardLink(ObjectHandle(server: 1, serial: 9), parent: .root, name: "second-name"),
        ScanObjects(after: nil, limit: 100),
        ScanEntries(after: EntryCursor(directory: .root, name: "m"), limit: 7),
        OrphanBstreams(graceSeconds: 60, remove: true),
        SetLinkCount(ObjectHandle(server: 2, serial: 5), count: 3),
        RestoreDatafiles([ObjectHandle(server: 0, serial: 12)]),
        PooledDatafiles(),
        MakeNode(parent: .root, name: "fifo", kind: .fifo, mode: 0o644, rdev: 0),
        MakeNode(parent: ObjectHandle(server: 2, serial: 5), name: "null", kind: .characterDevice, mode: 0o666, rdev: 0x0103),
        ApplyChanges(group: 3, changeset: ByteBuffer(bytes: [0x54, 2, 1, 0, 0x78, 0])),
        DropBstreams([ObjectHandle(server: 1, serial: 40)]),
        OpenObject(ObjectHandle(server: 2, serial: 8), rights: [.read, .write]),
        RevokeCapabilities([ObjectHandle(server: 1, serial: 9), ObjectHandle(server: 3, serial: 2)], issuedBeforeMilliseconds: 1_796_000_000_123),
        ProveIdentity(credential: "MUNGE:AwQFAAD1example:"),
        VoteForMembers(group: 2, epoch: 7, members: [3, 1], dropped: [2]),
        GetGroupView(group: 1),
        VoteForMembers(group: 0, epoch: 9, members: [0, 2], dropped: []),
        VoteForMembers(group: 1, epoch: 4, members: [2], dropped: [1], stepsDown: true),
        RequestResync(group: 1, member: 2),
        RequestResync(group: 0, member: 1, full: true),
        BeginResync(group: 2, epoch: 4, full: true),
        ResyncMetadata(group: 0, offset: 4096, total: 8192, bytes: ByteBuffer(repeating: 7, count: 4096)),
        RecordGroupView(group: 3, epoch: 12, members: [1, 3]),
        GetReplicaStatus(group: 2),
    ]
}
