import Testing
@testable import TrellisNameService
import TrellisNames

@Suite struct NameServiceCoreTests {
    @Test func answersEveryRequestAndRoundTripsJSON() throws {
        let core = NameServiceCore(leaseSeconds: 5)
        let publish = NameRequest(.publish, service: "svc", port: "port-1", publisher: "me")
        let line = try NameServiceCodec.encode(publish)
        #expect(line.last == UInt8(ascii: "\n"))
        #expect(try NameServiceCodec.decode(NameRequest.self, from: line.dropLast()) == publish)
        #expect(core.handle(publish, now: 0).ok)
        #expect(core.handle(NameRequest(.lookup, service: "svc"), now: 1).port == "port-1")
        #expect(core.handle(NameRequest(.list), now: 1).entries?.map(\.service) == ["svc"])
        #expect(core.handle(NameRequest(.renew, publisher: "me"), now: 1).names == 1)
        #expect(core.handle(NameRequest(.status), now: 1).names == 1)
        let missing = core.handle(NameRequest(.lookup, service: "nope"), now: 1)
        #expect(!missing.ok && missing.error?.contains("nope") == true)
        #expect(!core.handle(NameRequest(.publish, service: "x"), now: 1).ok)
        #expect(core.handle(NameRequest(.unpublish, service: "svc", publisher: "me"), now: 2).ok)
        #expect(throws: (any Error).self) { try NameServiceCodec.decode(NameRequest.self, from: Array("{not json".utf8)) }
        #expect(throws: (any Error).self) { try NameServiceCodec.decode(NameRequest.self, from: Array("{\"operation\":\"explode\"}".utf8)) }
    }
}
