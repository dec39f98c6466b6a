import Foundation
import Glibc
import NIOCore
import Testing
import TrellisFSClient
import TrellisFSConnection
import TrellisFSProtocol
import TrellisRuntime

/// Capabilities on real servers over real connections: a file striped over
/// three keyed servers, its owner and a user who may only read it, requests
/// sent straight to its data servers, and a client that renews what expires.
@Suite(.serialized) struct CapabilityJobTests {
    static let alice = Credentials(uid: 1000, gid: 100)
    static let bob = Credentials(uid: 1001, gid: 101)

    /// A reader's capability does not let them write through a data server;
    /// none, a forged, an altered and another file's are each refused; the
    /// file is as its owner wrote it after all of it.
    @Test func aReaderCannotWriteThroughADataServerDirectly() throws {
        let fixture = try FileSystemFixture(servers: 3)
        let root = try fixture.client()
        defer { root.close() }
        #expect(root.checksCapabilities, "the fixture's servers and this client hold the user's cluster key")
        try root.makeDirectory("/cap", mode: 0o777)
        let owner = root.sibling(credentials: Self.alice)
        let bytes = ByteBuffer(bytes: (0..<12_288).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try owner.createFile("/cap/shared", mode: 0o644)
        try owner.write("/cap/shared", bytes, at: 0)
        try owner.createFile("/cap/other", mode: 0o666)
        try owner.write("/cap/other", ByteBuffer(string: "other"), at: 0)
        let shared = try owner.stat("/cap/shared")
        let other = try owner.stat("/cap/other")
        #expect(Set(shared.datafiles.compactMap(\.server)).count == 3, "striped over every server: \(shared.datafiles)")

        let reader = root.sibling(credentials: Self.bob)
        #expect(try reader.read("/cap/shared", at: 0, length: 12_288) == bytes)
        #expect(throws: FSError.self) { try reader.write("/cap/shared", ByteBuffer(string: "HACKED"), at: 0) }
        let readOnly = try #require(try reader.capability(for: shared, .read))
        #expect(throws: FSError.self) { try reader.capability(for: shared, .write) }

        let target = shared.datafiles[1]
        let write = WriteData(datafile: target, regions: [.init(offset: 0, length: 6)], data: ByteBuffer(string: "HACKED"))
        func refusal(_ capability: Capability?, _ operation: some FSOperation = write) -> String {
            do {
                _ = try reader.call(owner: target, operation, capability: capability)
                return "served"
            } catch let error as FSError {
                return error.code == .capabilityRefused ? error.message : "other error: \(error)"
            } catch {
                return "other error: \(error)"
            }
        }
        #expect(refusal(readOnly).contains("does not grant write"))
        #expect(refusal(nil).contains("carries no capability"))
        #expect(refusal(CapabilitySigner(secret: ClusterKey.generate()).signed(readOnly)).contains("forged or altered"))
        var widened = readOnly
        widened.rights = [.read, .write]
        #expect(refusal(widened).contains("forged or altered"))
        let othersCapability = try #require(try reader.capability(for: other, [.read, .write]))
        #expect(refusal(othersCapability).contains("does not grant"))
        #expect(refusal(othersCapability, TruncateDatafile(target, size: 0)).contains("does not grant"))
        #expect(refusal(othersCapability, RemoveDatafiles([target])).contains("does not grant"))
        #expect(fixture.logTails(lines: 100).contains("refused WriteData"), "a data server logs what it refuses:\n\(fixture.logTails())")

        #expect(try owner.read("/cap/shared", at: 0, length: 12_288) == bytes, "nothing of it was written")

        // The owner's chmod takes the reader's capability away on every data server at once, not at its expiry.
        #expect(try reader.read("/cap/shared", at: 0, length: 12_288) == bytes)
        _ = try owner.setAttributes("/cap/shared", AttributeChanges(mode: 0o600))
        #expect(refusal(readOnly, ReadData(datafile: target, regions: [.init(offset: 0, length: 6)])).contains("revoked"))
        #expect(throws: FSError.self) { try reader.read("/cap/shared", at: 0, length: 12_288) }
        #expect(try owner.read("/cap/shared", at: 0, length: 12_288) == bytes, "the owner reads on, with a capability asked for anew")
        // The owner's unlink deletes the datafiles on the other servers too (the owner's
        // fan-out, or the client with the capability the unlink handed back).
        try owner.removeFile("/cap/shared")
        for datafile in shared.datafiles {
            let left = try? root.call(owner: datafile, DatafileSizes([datafile])).bytes
            #expect(left == nil || left == [0], "datafile \(datafile) still holds \(left ?? [])")
        }
    }

    /// A capability lasts as long as the servers say: one held past that is
    /// refused, and a client renews its own before then without its caller
    /// seeing anything.
    @Test func capabilitiesExpireAndClientsRenewThemUnseen() throws {
        let fixture = try FileSystemFixture(servers: 2) { $0.capabilityLifetimeSeconds = 2 }
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.createFile("/renewed")
        let file = try fs.stat("/renewed")
        let first = try #require(try fs.capability(for: file, [.read, .write]))
        #expect(first.expires - first.issuedMilliseconds / 1000 == 2)
        let open = try fs.open("/renewed", access: .readWrite)
        for round in 0..<4 {
            try open.write(ByteBuffer(string: "round \(round)"), at: UInt64(round * 8))
            #expect(String(buffer: try open.read(at: UInt64(round * 8), length: 7)) == "round \(round)")
            // Time passing is the point: four rounds outlast the 2 s lifetime, so the client must renew on the way.
            usleep(900_000)
        }
        try open.close()
        let datafile = file.datafiles[0]
        do {
            _ = try fs.call(owner: datafile, ReadData(datafile: datafile, regions: [.init(offset: 0, length: 1)]), capability: first)
            Issue.record("a capability past its expiry was served")
        } catch let error as FSError {
            #expect(error.code == .capabilityRefused && error.message.contains("expired"), "\(error)")
        }
    }
}
