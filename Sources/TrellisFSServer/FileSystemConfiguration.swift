import Foundation
import TOMLKit
import TrellisCore
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisSystem

/// A file system as its TOML file describes it; every server of the file
/// system reads the same file.
///
/// ```toml
/// [filesystem]
/// name = "scratch"
/// strip_size_bytes = 65536     # default strip of new files
/// datafiles = 0                # default datafiles per file; 0 means every server
/// precreate_batch = 64         # datafiles each server keeps made ahead on every other; 0: none
/// replicas = 1                 # copies of every object, on different servers (1 to 3)
/// data_replicas = []           # other copy counts a directory may choose for its files' bytes (trellis fs layout set --replicas N)
/// durability = "fsync"         # or "replicated": acknowledged once every replica holds it (the default with replicas >= 2)
/// failover_seconds = 2         # with replicas: how long a copy goes unanswered before its group goes on without it
/// resync_mib_per_second = 0    # with replicas: the most a resync sends per second; 0: as fast as it can
/// auth = "key"                 # peers prove the cluster key; "none": servers start without one (unauthenticated)
/// key_file = "/etc/trellis/cluster.key"  # where servers find it, after TRELLIS_KEY_FILE (default: ~/.config/trellis, /etc/trellis)
///
/// [[server]]
/// host = "127.0.0.1"
/// storage = "/srv/trellis/0"
///
/// [[server]]
/// host = "127.0.0.1"
/// storage = "/srv/trellis/1"
/// ```
public struct FileSystemConfiguration: Sendable, Equatable {
    /// One server: where it listens and where it keeps its data.
    public struct Server: Sendable, Equatable, Codable {
        /// Its address or host name (a name is looked up when it starts).
        public var host: String
        /// Its folder: metadata.sqlite and bstreams/.
        public var storage: String
        /// A server listening on `host` with its data in `storage`.
        public init(host: String, storage: String) {
            self.host = host
            self.storage = storage
        }
    }

    /// The file system's name, which clients connect by (1 to 64 bytes, no `/` or spaces).
    public var name: String
    /// Its servers; server 0 holds the root directory.
    public var servers: [Server]
    /// The strip size of new files where no directory sets one.
    public var stripSizeBytes: UInt64
    /// Datafiles per new file where no directory sets it (0: one on every server).
    public var datafilesPerFile: Int
    /// Datafiles each server keeps precreated on every other server, so
    /// a spread file's create waits on no peer; 0 turns the pools off.
    public var precreateBatch: Int

    /// Copies of every object (metadata and data), each on another server (`ReplicaPlacement`).
    public var replicas: Int
    /// Other copy counts a directory may choose for the bytes of the files
    /// made in it (`trellis fs layout set --replicas N DIR`); each is kept
    /// by a set of replica groups of its own, beside the file system's.
    public var dataReplicas: [Int]
    /// When a change is acknowledged.
    public var durability: Durability
    /// With replicas: how long a group's copy may go unanswered before the
    /// group goes on without it (a secondary taking over from a primary).
    public var failoverSeconds: Double
    /// With replicas: the most a resync sends per second, in MiB (nil: as fast as it can).
    public var resyncMiBPerSecond: Double?
    /// Whether its servers and clients prove a cluster key to each other.
    public var authentication: Authentication = .key
    /// Where its servers find the key when `TRELLIS_KEY_FILE` names none
    /// (nil: the standard places, `ClusterKey.standardPaths`).
    public var keyFile: String?
    /// The secret its servers sign capabilities with, in a file kept on the
    /// servers' hosts only (nil: derived from the cluster key, which every
    /// process holding that key could then derive too).
    public var capabilityKeyFile: String?
    /// How long a capability given at open lasts; clients renew at half its life.
    public var capabilityLifetimeSeconds: Int = 600
    /// How clients prove who they are.
    public var identity: IdentityProofs = .auto
    /// munged's socket on the servers' hosts (nil: `TRELLIS_MUNGE_SOCKET`, else MUNGE's default).
    public var mungeSocket: String?
    /// Whether root on a client host outside `trustedRootHosts` (and the servers' own) becomes nobody.
    public var rootSquash = true
    /// Client hosts whose root stays root, besides the servers' hosts.
    public var trustedRootHosts: [String] = []

    /// How a file system's clients prove who they are.
    public enum IdentityProofs: String, Sendable, Equatable, Codable, CaseIterable {
        /// With MUNGE when a munged answers on the server's host at its start, else as `claimed`.
        case auto
        /// With MUNGE always: a server will not start where no munged answers.
        case munge
        /// Not at all: a process holding the cluster key is believed.
        case claimed
    }

    /// `environment` as its servers search it for their key: `key_file`
    /// stands in for `TRELLIS_KEY_FILE` where that names none (`ClusterKey.locate`).
    public func keySearchEnvironment(_ environment: [String: String]) -> [String: String] {
        var environment = environment
        if environment["TRELLIS_KEY_FILE"] == nil, let keyFile { environment["TRELLIS_KEY_FILE"] = keyFile }
        return environment
    }

    /// Whether a file system's processes authenticate one another.
    public enum Authentication: String, Sendable, Equatable, Codable, CaseIterable {
        /// Every connection proves the cluster key; a server will not start without one.
        case key
        /// Nothing is authenticated: anyone who reaches a port is served (as
        /// BeeGFS with `connDisableAuthentication`). Clients must not hold a key either (`TRELLIS_AUTH=none`).
        case none
    }

    /// When a server acknowledges a change.
    public enum Durability: String, Sendable, Equatable, Codable, CaseIterable {
        /// Once it is synced to the disk of every replica: it survives the
        /// loss of power to every server at once.
        case fsync
        /// Once every replica holds it in memory or in its unsynced log: it
        /// survives the crash of any one server (and of all but one replica),
        /// not the loss of power to every replica at once. Only with 2 or more replicas.
        case replicated
    }

    /// The pool size `trellis up` and `mkfs` use unless told otherwise.
    public static let defaultPrecreateBatch = 64

    /// Checks the name, the server list and the striping; throws `invalidArgument` naming what is wrong.
    public init(
        name: String, servers: [Server], stripSizeBytes: UInt64 = 65_536, datafilesPerFile: Int = 0, precreateBatch: Int = defaultPrecreateBatch,
        replicas: Int = 1, dataReplicas: [Int] = [], durability: Durability? = nil, failoverSeconds: Double = 2, resyncMiBPerSecond: Double? = nil
    ) throws {
        guard !name.isEmpty, name.utf8.count <= 64, !name.contains("/"), !name.contains(where: \.isWhitespace) else {
            throw FSError(.invalidArgument, "a file-system name must be 1 to 64 bytes without '/' or spaces, not '\(name)'")
        }
        guard !servers.isEmpty, servers.count < ObjectHandle.maximumServers else {
            throw FSError(.invalidArgument, "a file system needs 1 to \(ObjectHandle.maximumServers - 1) servers, not \(servers.count)")
        }
        guard datafilesPerFile >= 0, datafilesPerFile <= servers.count else {
            throw FSError(.invalidArgument, "datafiles = \(datafilesPerFile) is outside 0 ... \(servers.count) (the server count)")
        }
        self.name = name
        self.servers = servers
        self.stripSizeBytes = stripSizeBytes
        guard (0...1024).contains(precreateBatch) else {
            throw FSError(.invalidArgument, "precreate_batch = \(precreateBatch) is outside 0 ... 1024")
        }
        self.datafilesPerFile = datafilesPerFile
        self.precreateBatch = precreateBatch
        self.replicas = replicas
        self.dataReplicas = dataReplicas
        guard servers.count * (dataReplicas.count + 1) < ObjectHandle.maximumServers else {
            throw FSError(.invalidArgument, "\(servers.count) servers with \(dataReplicas.count + 1) copy counts make more replica groups than handles can name (\(ObjectHandle.maximumServers - 1))")
        }
        self.durability = durability ?? (replicas >= 2 ? .replicated : .fsync)
        guard (0.5 ... 600).contains(failoverSeconds) else {
            throw FSError(.invalidArgument, "failover_seconds = \(failoverSeconds) is outside 0.5 ... 600")
        }
        self.failoverSeconds = failoverSeconds
        guard (resyncMiBPerSecond ?? 1) >= 0, (resyncMiBPerSecond ?? 1).isFinite else {
            throw FSError(.invalidArgument, "resync_mib_per_second = \(resyncMiBPerSecond ?? 0) is negative")
        }
        self.resyncMiBPerSecond = resyncMiBPerSecond == 0 ? nil : resyncMiBPerSecond
        if self.durability == .replicated, replicas < 2 {
            throw FSError(.invalidArgument, "durability = \"replicated\" needs replicas >= 2: with one copy, only fsync keeps an acknowledged change through a crash")
        }
        _ = try defaultDistribution()
        _ = try placement()
    }

    /// Which servers hold each replica group (its primary first).
    public func placement() throws -> ReplicaPlacement {
        try ReplicaPlacement(hosts: servers.map(\.host), replicas: replicas, dataReplicas: dataReplicas)
    }

    /// The distribution new files get unless their directory or creator says otherwise.
    public func defaultDistribution() throws -> Distribution {
        do {
            return try .simpleStripe(stripSizeBytes: stripSizeBytes, datafileCount: datafilesPerFile == 0 ? servers.count : datafilesPerFile)
        } catch let error as DistributionError {
            throw FSError(.invalidArgument, "[filesystem] strip_size_bytes: \(error)")
        }
    }

    /// The IPv4 address server `index` listens on: its `host`, looked up when it is a name.
    public func listenAddress(ofServer index: Int) throws -> String {
        try IPv4Address.resolveHost(servers[index].host)
    }

    /// The service name server `index` publishes its port under.
    public func serviceName(ofServer index: Int) -> String { "trellis-fs/\(name)/\(index)" }

    /// The service name under which server `server` takes the changes of
    /// replica group `group`'s primary to its copy of the group.
    public func replicaServiceName(group: Int, server: Int) -> String { "trellis-fs/\(name)/\(group)/replica/\(server)" }

    /// Where server `server` serves its copy of replica group `group`: its
    /// own service name for its own group, `replicaServiceName` for another's.
    public func copyServiceName(group: Int, server: Int) -> String {
        group == server ? serviceName(ofServer: server) : replicaServiceName(group: group, server: server)
    }

    /// Where server `server` answers for its replica groups' epochs (probes,
    /// votes, their outcomes), on a thread of its own, so a busy serving
    /// loop is never taken for a dead server.
    public func watchServiceName(ofServer server: Int) -> String { serviceName(ofServer: server) + "/watch" }

    /// The name under which server `index` publishes where its `/metrics` is served (host:port).
    public func metricsServiceName(ofServer index: Int) -> String { serviceName(ofServer: index) + "/metrics" }

    // MARK: TOML

    private struct File: Codable {
        struct FileSystem: Codable {
            var name: String
            var strip_size_bytes: Int?
            var datafiles: Int?
            var precreate_batch: Int?
            var replicas: Int?
            var data_replicas: [Int]?
            var durability: String?
            var failover_seconds: Double?
            var resync_mib_per_second: Double?
            var auth: String?
            var key_file: String?
            var capability_key_file: String?
            var capability_lifetime_seconds: Int?
            var identity: String?
            var munge_socket: String?
            var root_squash: Bool?
            var trusted_root_hosts: [String]?
        }
        var filesystem: FileSystem
        var server: [Server]
    }

    /// A configuration from TOML text; errors name `source` and the key at fault.
    public static func parse(toml text: String, source: String = "configuration") throws -> FileSystemConfiguration {
        let file: File
        do {
            file = try TOMLDecoder().decode(File.self, from: text)
        } catch {
            throw FSError(.invalidArgument, "\(source) is not a valid file-system configuration: \(error)")
        }
        guard (file.filesystem.strip_size_bytes ?? 65_536) > 0 else {
            throw FSError(.invalidArgument, "\(source): strip_size_bytes must be positive")
        }
        let durability = try file.filesystem.durability.map { name in
            guard let durability = Durability(rawValue: name) else {
                throw FSError(.invalidArgument, "\(source): durability = \"\(name)\" is not one of \(Durability.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            return durability
        }
        let authentication = try file.filesystem.auth.map { name in
            guard let authentication = Authentication(rawValue: name) else {
                throw FSError(.invalidArgument, "\(source): auth = \"\(name)\" is not one of \(Authentication.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            return authentication
        } ?? .key
        do {
            var configuration = try FileSystemConfiguration(
                name: file.filesystem.name, servers: file.server, stripSizeBytes: UInt64(file.filesystem.strip_size_bytes ?? 65_536),
                datafilesPerFile: file.filesystem.datafiles ?? 0, precreateBatch: file.filesystem.precreate_batch ?? defaultPrecreateBatch,
                replicas: file.filesystem.replicas ?? 1, dataReplicas: file.filesystem.data_replicas ?? [], durability: durability, failoverSeconds: file.filesystem.failover_seconds ?? 2,
                resyncMiBPerSecond: file.filesystem.resync_mib_per_second)
            configuration.authentication = authentication
            configuration.keyFile = file.filesystem.key_file.flatMap { $0.isEmpty ? nil : $0 }
            configuration.capabilityKeyFile = file.filesystem.capability_key_file.flatMap { $0.isEmpty ? nil : $0 }
            if let identity = file.filesystem.identity {
                guard let proofs = IdentityProofs(rawValue: identity) else {
                    throw FSError(.invalidArgument, "identity = \"\(identity)\" is not one of \(IdentityProofs.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
                }
                configuration.identity = proofs
            }
            configuration.mungeSocket = file.filesystem.munge_socket.flatMap { $0.isEmpty ? nil : $0 }
            configuration.rootSquash = file.filesystem.root_squash ?? true
            configuration.trustedRootHosts = file.filesystem.trusted_root_hosts ?? []
            if let lifetime = file.filesystem.capability_lifetime_seconds {
                guard lifetime >= 2 else { throw FSError(.invalidArgument, "capability_lifetime_seconds must be at least 2, not \(lifetime)") }
                configuration.capabilityLifetimeSeconds = lifetime
            }
            return configuration
        } catch let error as FSError {
            throw FSError(error.code, "\(source): \(error.message)")
        }
    }

    /// The configuration in the TOML file at `path`.
    public static func load(path: String) throws -> FileSystemConfiguration {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw FSError(.notFound, "cannot read file-system configuration \(path): \(error.localizedDescription)")
        }
        return try parse(toml: text, source: path)
    }

    /// This configuration as TOML that `parse` reads back.
    public func toml() -> String {
        var lines = [
            "[filesystem]", "name = \"\(name)\"", "strip_size_bytes = \(stripSizeBytes)", "datafiles = \(datafilesPerFile)",
            "precreate_batch = \(precreateBatch)", "replicas = \(replicas)", "data_replicas = \(dataReplicas)", "durability = \"\(durability.rawValue)\"", "failover_seconds = \(failoverSeconds)",
            "resync_mib_per_second = \(resyncMiBPerSecond ?? 0)", "auth = \"\(authentication.rawValue)\"",
            "capability_lifetime_seconds = \(capabilityLifetimeSeconds)", "identity = \"\(identity.rawValue)\"", "root_squash = \(rootSquash)",
            "trusted_root_hosts = [\(trustedRootHosts.map { "\"\($0)\"" }.joined(separator: ", "))]",
        ] + (keyFile.map { ["key_file = \"\($0)\""] } ?? []) + (capabilityKeyFile.map { ["capability_key_file = \"\($0)\""] } ?? [])
            + (mungeSocket.map { ["munge_socket = \"\($0)\""] } ?? [])
        for server in servers {
            lines += ["", "[[server]]", "host = \"\(server.host)\"", "storage = \"\(server.storage)\""]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
