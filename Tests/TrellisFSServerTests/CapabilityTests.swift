import Foundation
import NIOCore
import Synchronization
import Testing
import TrellisFSConnection
import TrellisFSProtocol
import TrellisFSServer
import TrellisFSStorage
import TrellisRuntime

@Suite struct CapabilityTests {
    private static func write(_ file: ObjectAttributes, _ text: String) -> WriteData {
        WriteData(datafile: file.datafiles[0], regions: [.init(offset: 0, length: UInt64(text.utf8.count))], data: ByteBuffer(string: text))
    }

    private static func read(_ file: ObjectAttributes, _ length: UInt64) -> ReadData {
        ReadData(datafile: file.datafiles[0], regions: [.init(offset: 0, length: length)])
    }

    /// The owner checks permission at open and signs what it allows; a data
    /// server then does exactly that much, and nothing without a capability.
    @Test func aDataServerDoesWhatTheCapabilityGrantsAndNothingElse() throws {
        let server = try KeyedServer()
        let shared = try server.file("shared", mode: 0o644)
        #expect(server.refusal(Self.write(shared, "hello"), capability: nil)?.code == .capabilityRefused)
        #expect(server.refusal(Self.read(shared, 5), capability: nil)?.code == .capabilityRefused)

        let opened = try server.call(OpenObject(shared.handle, rights: [.read, .write]))
        #expect(opened.attributes.handle == shared.handle && opened.attributes.datafiles == shared.datafiles, "the open answers with the file's attributes")
        let owners = try #require(opened.capability)
        #expect(owners.datafiles == shared.datafiles && owners.uid == KeyedServer.alice.uid && owners.expires - owners.issuedMilliseconds / 1000 == 60)
        #expect(try server.call(Self.write(shared, "hello"), capability: owners).bytes == 5)
        #expect(String(buffer: try server.call(Self.read(shared, 5), capability: owners)) == "hello")

        // Bob may read (0644) but not write: the owner will not sign a write for him,
        // and his read capability does not let him write through a data server directly.
        #expect(server.refusal(OpenObject(shared.handle, rights: .write), as: KeyedServer.bob)?.code == .permissionDenied)
        let bobs = try #require(try server.call(OpenObject(shared.handle, rights: .read), as: KeyedServer.bob).capability)
        #expect(String(buffer: try server.call(Self.read(shared, 5), capability: bobs)) == "hello")
        #expect(server.refusal(Self.write(shared, "HACKED"), capability: bobs)?.code == .capabilityRefused)
        #expect(server.refusal(TruncateDatafile(shared.datafiles[0], size: 0), capability: bobs)?.code == .capabilityRefused)
        #expect(server.refusal(RemoveDatafiles(shared.datafiles), capability: bobs)?.code == .capabilityRefused)
        #expect(String(buffer: try server.call(Self.read(shared, 5), capability: owners)) == "hello")

        // 0600: Bob may not even read it.
        let secret = try server.file("secret", mode: 0o600)
        #expect(server.refusal(OpenObject(secret.handle, rights: .read), as: KeyedServer.bob)?.code == .permissionDenied)
    }

    /// Forged, altered, expired and other-file capabilities are each refused, with the reason.
    @Test func forgedTamperedExpiredAndWrongFileCapabilitiesAreRefused() throws {
        let server = try KeyedServer()
        let mine = try server.file("mine", mode: 0o600)
        let theirs = try server.file("theirs", mode: 0o600, as: KeyedServer.bob)
        let granted = try #require(try server.call(OpenObject(mine.handle, rights: [.read, .write])).capability)
        #expect(try server.call(Self.write(mine, "ok"), capability: granted).bytes == 2)

        let forged = CapabilitySigner(secret: ClusterKey.generate()).signed(granted)
        #expect(server.refusal(Self.write(mine, "no"), capability: forged)?.message.contains("forged or altered") == true)

        var widened = granted
        widened.datafiles.append(theirs.datafiles[0])
        #expect(server.refusal(Self.write(theirs, "no"), capability: widened)?.message.contains("forged or altered") == true)
        var lengthened = granted
        lengthened.expires += 86_400
        #expect(server.refusal(Self.write(mine, "no"), capability: lengthened)?.code == .capabilityRefused)
        var unsigned = granted
        unsigned.signature = []
        #expect(server.refusal(Self.read(mine, 2), capability: unsigned)?.code == .capabilityRefused)

        // Genuine, but for another file: it cannot touch that file's datafiles.
        #expect(server.refusal(Self.read(theirs, 1), capability: granted)?.message.contains("does not grant") == true)
        #expect(server.refusal(RemoveDatafiles(theirs.datafiles), capability: granted)?.code == .capabilityRefused)

        server.advance(seconds: 59)
        #expect(try server.call(Self.write(mine, "ok"), capability: granted).bytes == 2)
        server.advance(seconds: 1)
        #expect(server.refusal(Self.write(mine, "no"), capability: granted)?.message.contains("expired") == true)
        // A new open gets a new one.
        let renewed = try #require(try server.call(OpenObject(mine.handle, rights: .write)).capability)
        #expect(try server.call(Self.write(mine, "ok"), capability: renewed).bytes == 2)
    }

    /// A capability found genuine once is known again without its HMAC, and
    /// only with the very fields and signature that were checked.
    @Test func aSignerKnowsAGenuineCapabilityAgainAndNothingLikeIt() {
        let signer = CapabilitySigner(secret: ClusterKey.generate())
        let capability = signer.serversCapability(issuer: 0, now: Timestamp(seconds: 1_800_000_000))
        #expect(signer.isGenuine(capability) && signer.isGenuine(capability))
        var otherUser = capability
        otherUser.uid = 5
        #expect(!signer.isGenuine(otherUser))
        var flipped = capability
        flipped.signature[0] ^= 1
        #expect(!signer.isGenuine(flipped))
        #expect(!CapabilitySigner(secret: ClusterKey.generate()).isGenuine(capability))
    }

    /// What only servers send, and changes relayed as a primary's, need the
    /// servers' own capability: a client's, however genuine, is not enough.
    @Test func onlyTheServersOwnCapabilityRelaysAndDropsData() throws {
        let server = try KeyedServer()
        let file = try server.file("f", mode: 0o644)
        let clients = try #require(try server.call(OpenObject(file.handle, rights: [.read, .write])).capability)
        #expect(server.refusal(DropBstreams(file.datafiles), capability: clients)?.code == .capabilityRefused)
        #expect(server.refusal(Self.write(file, "x"), capability: clients, relayEpoch: 1)?.code == .capabilityRefused)
        let servers = server.signer.serversCapability(issuer: 1, now: Timestamp(seconds: 1_800_000_000))
        // Past the capability check, a primary refuses relayed changes for what they are.
        #expect(server.refusal(Self.write(file, "x"), capability: servers, relayEpoch: 1)?.code == .notPermitted)
    }

    /// A chmod or chown revokes what was given before it: the old capability
    /// is refused with the reason, a new open is judged by the new mode, and
    /// a revocation is taken only from the servers.
    @Test func aChmodRevokesTheCapabilitiesGivenBeforeIt() throws {
        let server = try KeyedServer()
        let shared = try server.file("shared", mode: 0o644)
        let bobs = try #require(try server.call(OpenObject(shared.handle, rights: .read), as: KeyedServer.bob).capability)
        let alices = try #require(try server.call(OpenObject(shared.handle, rights: [.read, .write])).capability)
        #expect(try server.call(Self.write(shared, "hello"), capability: alices).bytes == 5)
        #expect(String(buffer: try server.call(Self.read(shared, 5), capability: bobs)) == "hello")

        server.advance(seconds: 1)
        _ = try server.call(SetAttributes(shared.handle, AttributeChanges(mode: 0o600)))
        #expect(server.refusal(Self.read(shared, 5), capability: bobs)?.message.contains("revoked") == true)
        #expect(server.refusal(Self.write(shared, "again"), capability: alices)?.message.contains("revoked") == true)
        #expect(server.refusal(OpenObject(shared.handle, rights: .read), as: KeyedServer.bob)?.code == .permissionDenied)
        let renewed = try #require(try server.call(OpenObject(shared.handle, rights: [.read, .write])).capability)
        #expect(try server.call(Self.write(shared, "again"), capability: renewed).bytes == 5)

        // Revoking is the servers' word: a client's capability, however genuine, cannot revoke another's.
        #expect(server.refusal(RevokeCapabilities(shared.datafiles, issuedBeforeMilliseconds: Int64.max), capability: renewed)?.code == .capabilityRefused)
        let servers = server.signer.serversCapability(issuer: 1, now: Timestamp(seconds: 1_800_000_000))
        _ = try server.call(RevokeCapabilities(shared.datafiles, issuedBeforeMilliseconds: Int64.max), capability: servers)
        #expect(server.refusal(Self.read(shared, 5), capability: renewed)?.message.contains("revoked") == true)
    }

    /// The unlink that deletes a file hands back the capability to delete its
    /// datafiles elsewhere, and nothing more.
    @Test func theLastUnlinkHandsBackARemovalCapabilityForThatFileOnly() throws {
        let server = try KeyedServer()
        let file = try server.file("gone", mode: 0o644)
        let other = try server.file("kept", mode: 0o644)
        // Every datafile here is local: the owner deletes them itself and hands back nothing.
        #expect(try server.call(Remove(parent: .root, name: "gone", directory: false)).removal == nil)
        let removal = try #require(
            CapabilityTests.removalFor(server: server, datafiles: [ObjectHandle(server: 1, serial: 5)], object: file.handle))
        #expect(removal.grants(.remove, on: [ObjectHandle(server: 1, serial: 5)]) && !removal.grants(.remove, on: other.datafiles))
        #expect(server.refusal(RemoveDatafiles(other.datafiles), capability: removal)?.code == .capabilityRefused)
    }

    private static func removalFor(server: KeyedServer, datafiles: [ObjectHandle], object: ObjectHandle) -> Capability? {
        server.signer.signed(
            Capability(object: object, datafiles: datafiles, rights: .remove, uid: 0, gid: 0, issuedMilliseconds: 0, expires: 1_900_000_000, issuer: 0))
    }
}
