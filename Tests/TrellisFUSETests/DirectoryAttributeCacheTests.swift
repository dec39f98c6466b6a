import Testing
import TrellisFSProtocol
@testable import TrellisFUSE

/// The mount's cache of directories' attributes: what it keeps, how this
/// mount's own creates move it, and what it refuses to keep.
struct DirectoryAttributeCacheTests {
    static func directory(_ serial: UInt64, server: Int = 1, size: UInt64 = 3, time: Int64 = 100) -> ObjectAttributes {
        ObjectAttributes(
            handle: ObjectHandle(server: server, serial: serial), kind: .directory, mode: 0o755, uid: 0, gid: 0, accessTime: Timestamp(seconds: time),
            modifyTime: Timestamp(seconds: time), changeTime: Timestamp(seconds: time), linkCount: 2, size: size, distribution: nil)
    }

    static func made(_ kind: ObjectKind, server: Int = 1, time: Int64) -> ObjectAttributes {
        ObjectAttributes(
            handle: ObjectHandle(server: server, serial: 900), kind: kind, mode: 0o644, uid: 0, gid: 0, accessTime: Timestamp(seconds: time),
            modifyTime: Timestamp(seconds: time), changeTime: Timestamp(seconds: time), linkCount: 1, size: 0, distribution: nil)
    }

    @Test func createsOnTheDirectorysServerMoveTheEntry() {
        let cache = DirectoryAttributeCache(lifetimeSeconds: 60)
        let parent = Self.directory(7)
        cache.remember(parent, fetchedAt: cache.generation(of: parent.handle))
        #expect(cache.fresh(parent.handle)?.attributes == parent)
        let began = cache.beginChange(of: parent.handle)
        cache.made(Self.made(.file, time: 150), in: parent.handle, since: began)
        var seen = cache.fresh(parent.handle)?.attributes
        #expect(seen?.size == 4 && seen?.linkCount == 2 && seen?.modifyTime == Timestamp(seconds: 150) && seen?.changeTime == Timestamp(seconds: 150))
        cache.made(Self.made(.directory, time: 120), in: parent.handle, since: cache.beginChange(of: parent.handle))
        seen = cache.fresh(parent.handle)?.attributes
        #expect(seen?.size == 5 && seen?.linkCount == 3 && seen?.modifyTime == Timestamp(seconds: 150))
        // A directory made on another server stamped its parent at a time this mount does not know.
        cache.made(Self.made(.directory, server: 2, time: 200), in: parent.handle, since: cache.beginChange(of: parent.handle))
        #expect(cache.fresh(parent.handle) == nil)
    }

    @Test func fetchesThatOverlapAChangeAreNotKept() {
        let cache = DirectoryAttributeCache(lifetimeSeconds: 60)
        let parent = Self.directory(7)
        // A fetch that began before an unlink finished after it.
        let before = cache.generation(of: parent.handle)
        cache.changed([parent.handle])
        cache.remember(parent, fetchedAt: before)
        #expect(cache.fresh(parent.handle) == nil)
        // A fetch that began during a create may hold it already: the create drops it rather than count it twice.
        let began = cache.beginChange(of: parent.handle)
        cache.remember(Self.directory(7, size: 4, time: 150), fetchedAt: cache.generation(of: parent.handle))
        cache.made(Self.made(.file, time: 150), in: parent.handle, since: began)
        #expect(cache.fresh(parent.handle) == nil)
        // Only directories are kept, and nothing when the kernel keeps nothing either.
        cache.remember(Self.made(.file, time: 1), fetchedAt: cache.generation(of: ObjectHandle(server: 1, serial: 900)))
        #expect(cache.fresh(ObjectHandle(server: 1, serial: 900)) == nil)
        let none = DirectoryAttributeCache(lifetimeSeconds: 0)
        none.remember(parent, fetchedAt: none.generation(of: parent.handle))
        #expect(none.fresh(parent.handle) == nil)
    }
}
