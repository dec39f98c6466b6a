import Foundation
import Glibc
import Testing
import TrellisFSClient
import TrellisFSConnection
import TrellisFSProtocol
import TrellisFSServer
import TrellisRuntime
import TrellisSystem

/// munged on a private socket with a key of its own, stopped when the test ends.
private final class TestMunge {
    let folder = NSTemporaryDirectory() + "trellis-munge-\(UUID().uuidString)"
    var socket: String { folder + "/munge.socket" }
    private var pid: pid_t?

    init() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let key = folder + "/munge.key"
        var generator = SystemRandomNumberGenerator()
        FileManager.default.createFile(atPath: key, contents: Data((0..<1024).map { _ in UInt8.random(in: .min ... .max, using: &generator) }))
        chmod(key, 0o400)
        pid = try ProcessSpawner.spawn(
            arguments: ["/usr/sbin/munged", "-F", "--force", "--socket=\(socket)", "--key-file=\(key)", "--pid-file=\(folder)/munged.pid",
                        "--log-file=\(folder)/munged.log", "--seed-file=\(folder)/seed"],
            environment: ProcessEnvironment.current(), logPath: folder + "/munged.out")
        guard poll(until: .after(seconds: 30), { Munge.isRunning(socket: self.socket) }) else {
            throw FixtureFailure(description: "munged did not start: \((try? String(contentsOfFile: folder + "/munged.out", encoding: .utf8)) ?? "")")
        }
    }

    deinit {
        if let pid {
            kill(pid, SIGTERM)
            _ = ProcessSpawner.waitForExit(pid)
        }
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// Clients that prove who they are with MUNGE, on servers that ask for it:
/// an ordinary user may act only as itself, a forged uid and a replayed
/// credential are refused, root may act for others; and root squash on a
/// host the servers do not trust with it. Needs root (munged, setpriv, a
/// key file made over to another user) and MUNGE's programs.
@Suite(.serialized) struct IdentityJobTests {
    static let canRun = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/munged")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    /// `trellis fs ARGUMENTS` run as uid:gid, holding a copy of the cluster key of its own and reaching `munge`.
    private func fs(
        _ arguments: [String], as user: (uid: UInt32, gid: UInt32), fixture: FileSystemFixture, key: String, mungeSocket: String
    ) throws -> JobHarness.Outcome {
        var environment = fixture.environment
        environment["HOME"] = "/nonexistent"
        environment["TRELLIS_KEY_FILE"] = key
        environment["TRELLIS_MUNGE_SOCKET"] = mungeSocket
        let command = ["/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", JobHarness.trellis, "fs", arguments[0], "--name", fixture.name]
            + arguments.dropFirst()
        return try JobHarness.run(command, environment: environment, timeoutSeconds: 120)
    }

    @Test(.enabled(if: canRun, "needs root, /usr/sbin/munged and setpriv"))
    func aClientProvenByMungeActsOnlyAsItself() throws {
        let munge = try TestMunge()
        setenv("TRELLIS_MUNGE_SOCKET", munge.socket, 1)
        defer { unsetenv("TRELLIS_MUNGE_SOCKET") }
        let fixture = try FileSystemFixture(servers: 2, serverEnvironment: ["TRELLIS_MUNGE_SOCKET": munge.socket]) { $0.identity = .munge }
        #expect(fixture.logTails(lines: 50).contains("prove who they are with MUNGE"), "\(fixture.logTails())")
        let root = try fixture.client()
        defer { root.close() }
        try root.makeDirectory("/users", mode: 0o777)

        // Alice holds a copy of the key of her own (a key file must be its reader's alone).
        let clusterKey = try #require(ClusterKey.locate(environment: ProcessEnvironment.current()))
        let aliceKey = munge.folder + "/alice.key"
        try FileManager.default.copyItem(atPath: clusterKey, toPath: aliceKey)
        chown(aliceKey, 1000, 100)
        chmod(aliceKey, 0o400)
        let alice = (uid: UInt32(1000), gid: UInt32(100))
        let made = try fs(["mkdir", "/users/alice"], as: alice, fixture: fixture, key: aliceKey, mungeSocket: munge.socket)
        #expect(made.status == 0, "\(made.combined)\n\(fixture.logTails())")
        #expect(try root.stat("/users/alice").uid == 1000)

        for forged in ["0:0", "1001:100", "1000:0"] {
            let refused = try fs(["mkdir", "--as", forged, "/users/forged"], as: alice, fixture: fixture, key: aliceKey, mungeSocket: munge.socket)
            #expect(refused.status != 0 && refused.combined.contains("proved to be uid 1000 gid 100"), "\(forged): \(refused.combined)")
        }
        #expect(throws: FSError.self) { try root.stat("/users/forged") }

        // Root (proven root on a host the servers trust) acts for another user.
        let forBob = root.sibling(credentials: Credentials(uid: 1001, gid: 101))
        try forBob.makeDirectory("/users/bob")
        #expect(try root.stat("/users/bob").uid == 1001)

        // A client whose host has no munged proves nothing, and is told why.
        let unproven = try fs(["ls", "/users"], as: alice, fixture: fixture, key: aliceKey, mungeSocket: munge.folder + "/no-such.socket")
        #expect(unproven.status != 0 && unproven.combined.contains("proved nothing"), "\(unproven.combined)")

        // A credential opens once: played again, on this or any connection, it proves nothing.
        let credential = try Munge.encode(payload: ProveIdentity.payload(fileSystem: fixture.name), socket: munge.socket)
        #expect(try root.call(server: 0, ProveIdentity(credential: credential)) == Credentials(uid: 0, gid: 0))
        do {
            _ = try root.call(server: 1, ProveIdentity(credential: credential))
            Issue.record("a replayed MUNGE credential was taken")
        } catch let error as FSError {
            #expect(error.code == .notPermitted && error.message.lowercased().contains("replayed"), "\(error)")
        }
        // One made for another file system proves nothing here.
        let elsewhere = try Munge.encode(payload: ProveIdentity.payload(fileSystem: "another"), socket: munge.socket)
        #expect(throws: FSError.self) { try root.call(server: 0, ProveIdentity(credential: elsewhere)) }
    }

    /// Servers on 127.0.0.2 trust root on their own host only: this
    /// process reaches them from 127.0.0.1, and its root is nobody there.
    @Test(.enabled(if: getuid() == 0, "needs root: the root it squashes"))
    func rootOnAHostNotTrustedWithItIsSquashed() throws {
        let fixture = try FileSystemFixture(servers: 2) { configuration in
            for index in configuration.servers.indices { configuration.servers[index].host = "127.0.0.2" }
        }
        #expect(fixture.logTails(lines: 50).contains("root on any other host than 127.0.0.2 is taken for nobody"), "\(fixture.logTails())")
        let root = try fixture.client()
        defer { root.close() }
        // The root directory is open to all (1777): what root makes there is nobody's.
        try root.makeDirectory("/by-root")
        let made = try root.stat("/by-root")
        #expect(made.uid == IdentityPolicy.anonymous.uid && made.gid == IdentityPolicy.anonymous.gid)
        do {
            _ = try root.setAttributes(handle: .root, AttributeChanges(mode: 0o755))
            Issue.record("root from an untrusted host changed the mode of root's own directory")
        } catch let error as FSError {
            #expect(error.code == .notPermitted, "\(error)")
        }
        #expect(try root.stat("/").uid == 0, "reading is nobody's right too")
    }
}
