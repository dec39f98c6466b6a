import Glibc
import Testing
import TrellisCore
import TrellisFSProtocol
@testable import TrellisFUSE

/// What the mount knows of directories' names: when a lookup may be
/// answered "absent" without the server, and every way that knowledge ends.
struct DirectoryNameCacheTests {
    static let parent = ObjectHandle(server: 1, serial: 7)

    static func directory(entries: UInt64 = 0, time: Int64 = 100) -> ObjectAttributes {
        ObjectAttributes(
            handle: parent, kind: .directory, mode: 0o755, uid: 0, gid: 0, accessTime: Timestamp(seconds: time),
            modifyTime: Timestamp(seconds: time), changeTime: Timestamp(seconds: time), linkCount: 2, size: entries, distribution: nil)
    }

    /// A create's reply: a file made at `time` in a directory that was at `before`.
    static func created(at time: Int64, before: DirectoryVersion) -> Created {
        let file = ObjectAttributes(
            handle: ObjectHandle(server: 1, serial: UInt64(1000 + time)), kind: .file, mode: 0o644, uid: 0, gid: 0, accessTime: Timestamp(seconds: time),
            modifyTime: Timestamp(seconds: time), changeTime: Timestamp(seconds: time), linkCount: 1, size: 0, distribution: nil)
        return Created(object: file, directoryBefore: before)
    }

    @Test func aDirectoryThisMountMadeIsKnownThroughItsOwnCreates() {
        let cache = DirectoryNameCache(lifetimeSeconds: 60)
        #expect(!cache.isAbsent("a", from: Self.parent), "nothing is known before the directory is made")
        cache.madeEmpty(Self.directory())
        #expect(cache.isAbsent("a", from: Self.parent) && cache.isAbsent("b", from: Self.parent))
        cache.created("a", in: Self.parent, Self.created(at: 150, before: DirectoryVersion(changeTime: Timestamp(seconds: 100), entries: 0)))
        #expect(!cache.isAbsent("a", from: Self.parent), "a name it made is asked for")
        #expect(cache.isAbsent("b", from: Self.parent))
        // The next create finds the directory as the first one left it: its time, one entry.
        cache.created("b", in: Self.parent, Self.created(at: 160, before: DirectoryVersion(changeTime: Timestamp(seconds: 150), entries: 1)))
        #expect(!cache.isAbsent("b", from: Self.parent) && cache.isAbsent("c", from: Self.parent))
    }

    @Test(arguments: [
        DirectoryVersion(changeTime: Timestamp(seconds: 170), entries: 1),  // another client made and removed a name since
        DirectoryVersion(changeTime: Timestamp(seconds: 150), entries: 2),  // the count moved at the same time
    ])
    func aReplyShowingAnotherClientsChangeForgetsTheDirectory(before: DirectoryVersion) {
        let cache = DirectoryNameCache(lifetimeSeconds: 60)
        cache.madeEmpty(Self.directory())
        cache.created("a", in: Self.parent, Self.created(at: 150, before: DirectoryVersion(changeTime: Timestamp(seconds: 100), entries: 0)))
        cache.created("b", in: Self.parent, Self.created(at: 180, before: before))
        #expect(!cache.isAbsent("z", from: Self.parent))
        // And it stays forgotten: a later create that matches nothing known does not bring it back.
        cache.created("c", in: Self.parent, Self.created(at: 190, before: DirectoryVersion(changeTime: Timestamp(seconds: 180), entries: before.entries + 1)))
        #expect(!cache.isAbsent("z", from: Self.parent))
    }

    /// Knowledge past its lifetime is not used, until a fetch of the
    /// directory's attributes finds it at the version it was known at.
    @Test func aFetchOfTheDirectoryConfirmsOrEndsTheKnowledge() {
        let cache = DirectoryNameCache(lifetimeSeconds: 0.01)
        cache.madeEmpty(Self.directory())
        cache.created("a", in: Self.parent, Self.created(at: 150, before: DirectoryVersion(changeTime: Timestamp(seconds: 100), entries: 0)))
        usleep(30_000)
        #expect(!cache.isAbsent("b", from: Self.parent))
        // A fetch that began before the lifetime ran out again finds the directory as the create left it.
        cache.confirm(Self.directory(entries: 1, time: 150), freshUntil: .after(seconds: 60))
        #expect(cache.isAbsent("b", from: Self.parent) && !cache.isAbsent("a", from: Self.parent))
        // One that finds another version (someone else's create) ends it, whenever it began.
        cache.confirm(Self.directory(entries: 2, time: 170), freshUntil: .after(seconds: 60))
        #expect(!cache.isAbsent("b", from: Self.parent))
        cache.confirm(Self.directory(entries: 1, time: 150), freshUntil: .after(seconds: 60))
        #expect(!cache.isAbsent("b", from: Self.parent), "gone knowledge does not come back")
    }

    @Test func otherChangesTimeAndSizeEndTheKnowledge() {
        let cache = DirectoryNameCache(lifetimeSeconds: 60)
        cache.madeEmpty(Self.directory())
        cache.forget([Self.parent])
        #expect(!cache.isAbsent("a", from: Self.parent))
        // Only an empty directory is known from its attributes alone.
        cache.madeEmpty(Self.directory(entries: 2))
        #expect(!cache.isAbsent("a", from: Self.parent))
        // Nothing is kept when the option is 0.
        let none = DirectoryNameCache(lifetimeSeconds: 0)
        none.madeEmpty(Self.directory())
        #expect(!none.isAbsent("a", from: Self.parent))
        // Knowledge not confirmed within its lifetime is not used, nor is a
        // confirmation that ran out before it arrived.
        let brief = DirectoryNameCache(lifetimeSeconds: 0.01)
        brief.madeEmpty(Self.directory())
        usleep(30_000)
        #expect(!brief.isAbsent("a", from: Self.parent))
        brief.confirm(Self.directory(), freshUntil: .now())
        #expect(!brief.isAbsent("a", from: Self.parent))
    }
}
