import Testing
@testable import TrellisNameService
import TrellisNames

@Suite struct NameRegistryTests {
    let second: UInt64 = 1_000_000_000

    @Test func publishLookupUnpublish() throws {
        var registry = NameRegistry(leaseSeconds: 10)
        try registry.publish(service: "pvfs", port: "trellis://127.0.0.1:4000/1", publisher: "p1", now: 0)
        #expect(try registry.lookup(service: "pvfs", now: second) == "trellis://127.0.0.1:4000/1")
        #expect(throws: NameRegistry.Failure.alreadyPublished(service: "pvfs", by: "p1")) {
            try registry.publish(service: "pvfs", port: "x", publisher: "p2", now: second)
        }
        #expect(throws: NameRegistry.Failure.notOwner(service: "pvfs", owner: "p1")) {
            try registry.unpublish(service: "pvfs", publisher: "p2")
        }
        try registry.unpublish(service: "pvfs", publisher: "p1")
        #expect(throws: NameRegistry.Failure.notPublished("pvfs")) { try registry.lookup(service: "pvfs", now: second) }
    }

    @Test func leasesExpireUnlessRenewed() throws {
        var registry = NameRegistry(leaseSeconds: 3)
        try registry.publish(service: "a", port: "pa", publisher: "live", now: 0)
        try registry.publish(service: "b", port: "pb", publisher: "dead", now: 0)
        #expect(registry.renew(publisher: "live", now: 2 * second) == 1)
        #expect(registry.expire(now: 4 * second) == ["b"])
        #expect(try registry.lookup(service: "a", now: 4 * second) == "pa")
        #expect(throws: NameRegistry.Failure.self) { try registry.lookup(service: "b", now: 4 * second) }
        // An expired name can be taken by another publisher even before `expire` runs.
        try registry.publish(service: "c", port: "pc", publisher: "old", now: 0)
        try registry.publish(service: "c", port: "pc2", publisher: "new", now: 10 * second)
        #expect(try registry.lookup(service: "c", now: 10 * second) == "pc2")
    }

    @Test func forgetAndList() throws {
        var registry = NameRegistry(leaseSeconds: 5)
        for index in 0..<5 { try registry.publish(service: "s\(index)", port: "p\(index)", publisher: index % 2 == 0 ? "even" : "odd", now: 0) }
        #expect(registry.forget(publisher: "odd") == ["s1", "s3"])
        #expect(registry.list(now: second).map(\.service) == ["s0", "s2", "s4"])
    }

    @Test func rejectsBadNamesAndHonoursTheLimit() throws {
        var registry = NameRegistry(leaseSeconds: 5, maximumNames: 2)
        for bad in ["", "has space", String(repeating: "x", count: 300), "tab\there"] {
            #expect(throws: NameRegistry.Failure.invalidName(bad)) { try registry.publish(service: bad, port: "p", publisher: "x", now: 0) }
        }
        try registry.publish(service: "one", port: "p", publisher: "x", now: 0)
        try registry.publish(service: "two", port: "p", publisher: "x", now: 0)
        #expect(throws: NameRegistry.Failure.full(2)) { try registry.publish(service: "three", port: "p", publisher: "x", now: 0) }
        try registry.publish(service: "one", port: "p2", publisher: "x", now: 0)
    }
}
