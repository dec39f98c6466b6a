import Glibc
import TrellisFSConnection
import TrellisFSProtocol

/// Whom a server takes each request to be made for. A request states its
/// caller's uid and gid; the server believes it as far as the policy says:
/// with MUNGE, a client proves on each connection who it runs as, and may
/// then ask only as that user (root, which may become anyone on its own
/// host, as any uid: the mount asks for every user); without, a process
/// holding the cluster key is believed (the trust OrangeFS's default mode
/// and NFS's AUTH_SYS give a host). Either way root on a host not trusted
/// with it becomes nobody (NFS's root_squash, a Lustre nodemap's squash).
public struct IdentityPolicy: Sendable, Equatable {
    /// How clients prove who they are.
    public enum Proofs: Sendable, Equatable {
        /// Not at all: the uid and gid a request states are taken.
        case claimed
        /// With a MUNGE credential per connection, opened by the munged at `socket` (nil: MUNGE's default).
        case munge(socket: String?)
    }

    /// How clients prove who they are.
    public var proofs: Proofs
    /// Whether root on a host outside `rootHosts` is taken for nobody.
    public var rootSquash: Bool
    /// The addresses of the hosts whose root stays root: the servers' own
    /// (whose root can read the storage anyway) and those configured.
    public var rootHosts: Set<String>
    /// Whom a squashed root becomes: nobody and nogroup, as on Debian.
    public static let anonymous = Credentials(uid: 65534, gid: 65534)

    /// A policy; the default takes what requests state, as a server in a test does.
    public init(proofs: Proofs = .claimed, rootSquash: Bool = false, rootHosts: Set<String> = []) {
        self.proofs = proofs
        self.rootSquash = rootSquash
        self.rootHosts = rootHosts
    }

    /// The credentials `envelope` is carried out with, or why it is
    /// refused. A request made in this process (no origin) and one from
    /// another server (`fromServers`: it carries their capability) are taken as stated.
    func credentials(for envelope: FSRequestEnvelope, fromServers: Bool) throws -> Credentials {
        guard let origin = envelope.origin, !fromServers else { return envelope.credentials }
        var credentials = envelope.credentials
        if case .munge = proofs, !(envelope.operation is ProveIdentity), !(envelope.operation is GetConfiguration) {
            guard let proven = origin.proven else {
                throw FSError(
                    .notPermitted,
                    "this file system takes requests only from clients that prove who they are with MUNGE, and the client at \(origin.host ?? "an unknown host") proved nothing: "
                        + "run munged on its host with the cluster's munge.key (TRELLIS_MUNGE_SOCKET names another socket)")
            }
            if proven.uid != 0 {
                guard credentials.uid == proven.uid, credentials.gid == proven.gid else {
                    throw FSError(
                        .notPermitted,
                        "a client that MUNGE proved to be uid \(proven.uid) gid \(proven.gid) asked as uid \(credentials.uid) gid \(credentials.gid)")
                }
                // Its other groups as this host knows the user, not as the client says (Lustre's identity upcall).
                credentials.groups = Self.groups(ofUser: proven.uid, primary: proven.gid)
            }
        }
        if rootSquash, !(origin.host.map(rootHosts.contains) ?? false) { credentials = Self.squashed(credentials) }
        return credentials
    }

    /// Root as nobody, and group 0 as nogroup wherever it appears.
    static func squashed(_ credentials: Credentials) -> Credentials {
        Credentials(
            uid: credentials.uid == 0 ? anonymous.uid : credentials.uid, gid: credentials.gid == 0 ? anonymous.gid : credentials.gid,
            groups: credentials.groups.filter { $0 != 0 })
    }

    /// The supplementary groups of `uid` in this host's user database (none for a user it does not know).
    static func groups(ofUser uid: UInt32, primary gid: UInt32) -> [UInt32] {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &found) == 0, let found, let name = found.pointee.pw_name else { return [] }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(name, gid, &groups, &count) >= 0 else { return [] }
        }
        return Array(groups.prefix(Int(count))).filter { $0 != gid }
    }
}
