import Foundation
import NIOCore
import Testing
import TrellisFSClient
import TrellisFSProtocol

/// POSIX's rules kept by real servers for the native client, where the
/// objects a rule needs live on other servers than the request's (the
/// server asks their owners), and special files seen by fsck.
@Suite(.serialized) struct PosixRulesJobTests {
    static let alice = Credentials(uid: 1000, gid: 1000)
    static let bob = Credentials(uid: 1001, gid: 1001)

    private func code(_ body: () throws -> Void) -> FSError.Code? {
        do { try body(); return nil } catch let error as FSError { return error.code } catch { return nil }
    }

    /// A new directory at `parent/prefixN` whose object lives (or, with
    /// `elsewhere` false, does not live) on `server`.
    private func directory(_ fs: FileSystemClient, in parent: String, prefix: String, server: Int, elsewhere: Bool, mode: UInt32 = 0o755) throws -> String {
        for index in 0..<64 {
            let path = "\(parent)/\(prefix)\(index)"
            let made = try fs.makeDirectory(path, mode: mode)
            if (made.handle.server != server) == elsewhere { return path }
            try fs.removeDirectory(path)
        }
        throw FSError(.notFound, "no directory landed where the test needs one")
    }

    @Test func renameRulesHoldForObjectsOnOtherServers() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096)
        let root = try fixture.client()
        defer { root.close() }
        let (alice, bob) = (root.sibling(credentials: Self.alice), root.sibling(credentials: Self.bob))
        try root.makeDirectory("/sticky", mode: 0o777)
        _ = try root.setAttributes("/sticky", AttributeChanges(mode: 0o1777))
        let home = try root.stat("/sticky").handle.server!
        // Alice's directory in the sticky directory lives on another server than the entry naming it.
        let alices = try directory(alice, in: "/sticky", prefix: "alice", server: home, elsewhere: true)
        #expect(code { try bob.rename(alices, to: "/sticky/taken") } == .notPermitted)
        let bobs = try directory(bob, in: "/sticky", prefix: "bob", server: home, elsewhere: false)
        #expect(code { try bob.rename(bobs, to: alices) } == .notPermitted)
        try alice.rename(alices, to: "/sticky/renamed-by-alice")

        // Root's directory moved by bob to another parent on the same server: its ".." would change.
        try root.makeDirectory("/open", mode: 0o777)
        _ = try root.setAttributes("/open", AttributeChanges(mode: 0o777))
        let open = try root.stat("/open").handle.server!
        let target = try directory(root, in: "/", prefix: "target", server: open, elsewhere: false, mode: 0o777)
        _ = try root.setAttributes(target, AttributeChanges(mode: 0o777))
        let roots = try directory(root, in: "/open", prefix: "roots", server: open, elsewhere: true)
        #expect(code { try bob.rename(roots, to: "\(target)/moved") } == .permissionDenied)
        try bob.rename(roots, to: "/open/renamed-in-place")
        #expect(try root.stat("/open/renamed-in-place").uid == 0)
    }

    @Test func directoryLinksCountSubdirectoriesOnEveryServer() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/top")
        for index in 0..<6 { try fs.makeDirectory("/top/sub\(index)") }
        try fs.write("/top/file", ByteBuffer(string: "f"), at: 0, create: true)
        let servers = Set(try fs.list("/top").filter { $0.kind == .directory }.map { $0.handle.server })
        #expect(servers.count > 1, "the subdirectories should spread over servers")
        #expect(try fs.stat("/top").linkCount == 8)
        try fs.removeDirectory("/top/sub0")
        try fs.rename("/top/sub1", to: "/sub1")
        #expect(try fs.stat("/top").linkCount == 6)
        #expect(try fs.stat("/").linkCount == 4)
    }

    @Test func writesByOthersDropSetIDBitsAndOwnersKeepExplicitTimes() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096)
        let root = try fixture.client()
        defer { root.close() }
        let bob = root.sibling(credentials: Self.bob)
        try root.write("/tool", ByteBuffer(repeating: 1, count: 20_000), at: 0, create: true)
        _ = try root.setAttributes("/tool", AttributeChanges(mode: 0o6777))
        try root.write("/tool", ByteBuffer(string: "root keeps them"), at: 0)
        #expect(try root.stat("/tool").mode == 0o6777)
        try bob.write("/tool", ByteBuffer(string: "bob does not"), at: 30_000)
        #expect(try root.stat("/tool").mode == 0o777)
        #expect(code { _ = try bob.setAttributes("/tool", AttributeChanges(modifyTime: .at(Timestamp(seconds: 5)))) } == .notPermitted)
        #expect(try bob.setAttributes("/tool", AttributeChanges(accessTime: .now, modifyTime: .now)).modifyTime > Timestamp(seconds: 5))
        #expect(code { _ = try bob.setAttributes("/tool", AttributeChanges(uid: 0)) } == .notPermitted)
    }

    @Test func specialFilesLiveThroughLinksRenamesAndFsck() throws {
        let fixture = try FileSystemFixture(servers: 4, stripSizeBytes: 4096)
        let fs = try fixture.client()
        defer { fs.close() }
        try fs.makeDirectory("/dev")
        let far = try directory(fs, in: "/", prefix: "far", server: try fs.stat("/dev").handle.server!, elsewhere: true)
        let fifo = try fs.makeNode("/dev/fifo", kind: .fifo, mode: 0o640)
        try fs.makeNode("/dev/socket", kind: .socket, mode: 0o777)
        let device = try fs.makeNode("/dev/null", kind: .characterDevice, mode: 0o666, rdev: 0x0103)
        try fs.makeNode("/dev/loop", kind: .blockDevice, mode: 0o660, rdev: 0x0700)
        #expect(device.rdev == 0x0103 && fifo.kind == .fifo)
        #expect(Set(try fs.list("/dev").map(\.kind)) == [.fifo, .socket, .characterDevice, .blockDevice])
        // A hard link and a rename to a directory of another server.
        try fs.link("\(far)/null-link", to: "/dev/null")
        try fs.rename("/dev/fifo", to: "\(far)/fifo")
        #expect(try fs.stat("\(far)/null-link").linkCount == 2 && fs.stat("\(far)/null-link").rdev == 0x0103)
        #expect(try fs.stat("\(far)/fifo").handle == fifo.handle)
        let bob = fs.sibling(credentials: Self.bob)
        #expect(code { try bob.makeNode("/dev/mine", kind: .characterDevice, rdev: 1) } == .permissionDenied)
        try fs.makeDirectory("/shared", mode: 0o777)
        _ = try fs.setAttributes("/shared", AttributeChanges(mode: 0o777))
        #expect(code { try bob.makeNode("/shared/mine", kind: .characterDevice, rdev: 1) } == .notPermitted)
        #expect(try bob.makeNode("/shared/pipe", kind: .fifo).uid == Self.bob.uid)

        let check = try JobHarness.run(
            [JobHarness.trellis, "fsck", "--json", "--grace-seconds", "0", "--name", fixture.name, "--timeout", "20"],
            environment: fixture.environment, timeoutSeconds: 300)
        #expect(check.status == 0 && !check.output.contains("\"kind\""), "\(check.combined)")
        let listing = try JobHarness.run([JobHarness.trellis, "fs", "ls", "-l", "--name", fixture.name, "/dev"], environment: fixture.environment)
        let types = Set(listing.output.split(separator: "\n").compactMap(\.first))
        #expect(listing.status == 0 && types == ["b", "c", "s"] && listing.output.contains(" 1,3 "), "\(listing.combined)")
        try fs.removeFile("\(far)/fifo")
        try fs.removeFile("/dev/null")
        #expect(try fs.stat("\(far)/null-link").linkCount == 1)
    }
}
