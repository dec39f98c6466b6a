import Testing
import TrellisFSProtocol
import TrellisFSServer

/// Whom a server takes requests to be made for: root squashed on hosts not
/// trusted with it, and, where clients prove who they are with MUNGE, no
/// request in another user's name (the proof itself is the job tests'; here
/// the serving loop's record of it is given).
@Suite struct IdentityPolicyTests {
    static let root = Credentials(uid: 0, gid: 0, groups: [0, 4])
    static let trusted = RequestOrigin(host: "10.0.0.1")
    static let elsewhere = RequestOrigin(host: "10.0.0.9")

    @Test func rootOnAnUntrustedHostIsNobody() throws {
        let server = try KeyedServer(identity: IdentityPolicy(rootSquash: true, rootHosts: ["10.0.0.1"]))
        let made = try server.call(MakeDirectory(parent: .root, name: "by-squashed-root", mode: 0o755), as: Self.root, from: Self.elsewhere)
        #expect(made.uid == IdentityPolicy.anonymous.uid && made.gid == IdentityPolicy.anonymous.gid)
        let kept = try server.call(MakeDirectory(parent: .root, name: "by-trusted-root", mode: 0o700), as: Self.root, from: Self.trusted)
        #expect(kept.uid == 0 && kept.gid == 0)
        // Squashed root is nobody for permissions too: it may not enter root's 0700 directory.
        #expect(server.refusal(CreateFile(parent: kept.handle, name: "x", mode: 0o644, distribution: nil, stuffed: true), as: Self.root, from: Self.elsewhere)?.code
            == .permissionDenied)
        #expect(try server.call(CreateFile(parent: kept.handle, name: "x", mode: 0o644, distribution: nil, stuffed: true), as: Self.root, from: Self.trusted).object.uid == 0)
        // Other users are who they say; a request made in the server's own process is as stated.
        #expect(try server.call(MakeDirectory(parent: .root, name: "alice", mode: 0o755), from: Self.elsewhere).uid == KeyedServer.alice.uid)
        #expect(try server.call(MakeDirectory(parent: .root, name: "inside", mode: 0o755), as: Self.root).uid == 0)
        // The servers' own requests carry their capability: root from any host.
        let servers = server.signer.serversCapability(issuer: 1, now: Timestamp(seconds: 1_800_000_000))
        #expect(try server.call(MakeDirectory(parent: .root, name: "peer", mode: 0o755), as: Self.root, capability: servers, from: Self.elsewhere).uid == 0)
    }

    @Test func withoutRootSquashRootIsRootEverywhere() throws {
        let server = try KeyedServer(identity: IdentityPolicy(rootSquash: false))
        #expect(try server.call(MakeDirectory(parent: .root, name: "d", mode: 0o755), as: Self.root, from: Self.elsewhere).uid == 0)
    }

    @Test func withProofsAClientMayAskOnlyAsWhomItProved() throws {
        let server = try KeyedServer(identity: IdentityPolicy(proofs: .munge(socket: "/nonexistent/munge.socket"), rootSquash: true, rootHosts: ["10.0.0.1"]))
        let unproven = server.refusal(MakeDirectory(parent: .root, name: "a", mode: 0o755), from: Self.elsewhere)
        #expect(unproven?.code == .notPermitted && unproven?.message.contains("MUNGE") == true)
        // The configuration is for anyone: a client needs it before it can prove anything.
        #expect(try server.call(GetConfiguration(), from: Self.elsewhere).name == "keyed")

        let alice = RequestOrigin(host: "10.0.0.9", proven: Credentials(uid: 1000, gid: 100))
        let forged = server.refusal(MakeDirectory(parent: .root, name: "as-root", mode: 0o755), as: Self.root, from: alice)
        #expect(forged?.code == .notPermitted && forged?.message.contains("proved to be uid 1000") == true)
        #expect(server.refusal(MakeDirectory(parent: .root, name: "as-bob", mode: 0o755), as: KeyedServer.bob, from: alice)?.code == .notPermitted)
        #expect(try server.call(MakeDirectory(parent: .root, name: "as-alice", mode: 0o755), from: alice).uid == 1000)

        // Root proven on a trusted host (a mount) asks for each of its users, and as root.
        let mount = RequestOrigin(host: "10.0.0.1", proven: Credentials(uid: 0, gid: 0))
        #expect(try server.call(MakeDirectory(parent: .root, name: "for-bob", mode: 0o755), as: KeyedServer.bob, from: mount).uid == KeyedServer.bob.uid)
        #expect(try server.call(MakeDirectory(parent: .root, name: "for-root", mode: 0o755), as: Self.root, from: mount).uid == 0)
        // Proven root on an untrusted host is still squashed.
        let elsewhereRoot = RequestOrigin(host: "10.0.0.9", proven: Credentials(uid: 0, gid: 0))
        #expect(try server.call(MakeDirectory(parent: .root, name: "squashed", mode: 0o755), as: Self.root, from: elsewhereRoot).uid == IdentityPolicy.anonymous.uid)
    }

    /// A server that takes no proofs says so, and one whose munged is not there says that.
    @Test func aProofIsAnsweredAsThePolicyAllows() throws {
        let claimed = try KeyedServer()
        #expect(claimed.refusal(ProveIdentity(credential: "MUNGE:x:"), from: Self.elsewhere)?.code == .notSupported)
        let munge = try KeyedServer(identity: IdentityPolicy(proofs: .munge(socket: "/nonexistent/munge.socket")))
        let refused = munge.refusal(ProveIdentity(credential: "MUNGE:garbage:"), from: Self.elsewhere)
        #expect(refused != nil && refused?.message.contains("MUNGE") == true, "\(String(describing: refused))")
    }
}
