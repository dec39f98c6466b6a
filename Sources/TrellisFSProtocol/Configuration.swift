import NIOCore
import TrellisFSDistribution

/// One server of a file system as the configuration lists it.
public struct ServerDescription: Sendable, Hashable, WireRecord {
    /// Its index in the configuration.
    public var index: UInt32
    /// The service name it publishes (`trellis-fs/<fs>/<index>`).
    public var serviceName: String
    /// Its current port, or empty when the answering server does not know it.
    public var portName: String
    /// The host its configuration places it on (empty when unknown), so a
    /// server that does not answer can be named with its host.
    public var host: String
    /// With replicas: the service names of the other copies of the replica
    /// group this server is primary of, in failover order; a client that
    /// loses the primary, or is told `notPrimary`, tries these next.
    public var copies: [String]

    /// A server as the configuration lists it.
    public init(index: UInt32, serviceName: String, portName: String, host: String = "", copies: [String] = []) {
        self.index = index
        self.serviceName = serviceName
        self.portName = portName
        self.host = host
        self.copies = copies
    }

    /// Every service name that may answer for this server's group: its own first.
    public var candidates: [String] { [serviceName] + copies }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.index, \.serviceName, \.portName, \.host, \.copies, make: Self.init)
}

/// What a client learns from any one server: enough to reach all of them.
public struct FSConfiguration: Sendable, Hashable, WireRecord {
    /// The file system's name.
    public var name: String
    /// Its replica groups, by index (a handle's top bits): one per server
    /// (group `s` led at first by server `s`), then, for each count of
    /// `dataReplicas`, one more set of as many.
    public var servers: [ServerDescription]
    /// How a new file is striped where no directory says otherwise.
    public var defaultDistribution: Distribution
    /// The root directory (on server 0).
    public var rootHandle: ObjectHandle
    /// When a change is acknowledged: "fsync" or "replicated" (the `durability` of the file system's TOML).
    public var durability: String
    /// The other copy counts a directory may choose for its files' bytes
    /// (`data_replicas` in the TOML), each kept by a set of groups of its own.
    public var dataReplicas: [UInt32]

    /// The file system as its servers describe it to clients.
    public init(
        name: String, servers: [ServerDescription], defaultDistribution: Distribution, rootHandle: ObjectHandle = .root, durability: String = "fsync",
        dataReplicas: [UInt32] = []
    ) throws {
        guard servers.count % (dataReplicas.count + 1) == 0, dataReplicas.count < 8 else {
            throw FSError(.protocolViolation, "\(servers.count) replica groups cannot make \(dataReplicas.count + 1) sets of one group per server")
        }
        self.name = name
        self.servers = servers
        self.defaultDistribution = defaultDistribution
        self.rootHandle = rootHandle
        self.durability = durability
        self.dataReplicas = dataReplicas
    }

    /// Copies of every object: the first server's group and its other copies.
    public var replicas: Int { (servers.first?.copies.count ?? 0) + 1 }

    /// The servers of the file system (each leads one group of every set).
    public var serverCount: Int { servers.count / (dataReplicas.count + 1) }

    /// The groups that keep metadata, one per server (the first set).
    public var metadataGroups: Range<Int> { 0 ..< serverCount }

    /// The first group of the set that keeps `copies` copies (nil: the file
    /// system's own count); nil when the file system keeps no such set.
    public func firstGroup(copies: Int?) -> Int? {
        guard let copies, copies != replicas else { return 0 }
        return dataReplicas.firstIndex(of: UInt32(copies)).map { ($0 + 1) * serverCount }
    }

    /// The group of datafile `index` of a file laid out by `distribution`
    /// (its set chosen by the distribution's copies).
    public func group(ofDatafile index: Int, of distribution: Distribution) throws -> Int {
        try firstGroup(of: distribution) + distribution.server(ofDatafile: index, serverCount: serverCount)
    }

    /// The first group of the set that keeps the distribution's copies; refused when there is none.
    private func firstGroup(of distribution: Distribution) throws -> Int {
        guard let first = firstGroup(copies: distribution.copies) else {
            let kept = ([replicas] + dataReplicas.map(Int.init)).map(String.init).joined(separator: " or ")
            throw FSError(.invalidArgument, "file system \(name) keeps no data with \(distribution.copies ?? replicas) copies: it keeps \(kept) (replicas and data_replicas in its TOML)")
        }
        return first
    }

    /// Refuses a distribution with more datafiles than servers, a first
    /// server it does not have, or copies it keeps no groups for.
    public func check(_ distribution: Distribution) throws {
        guard distribution.datafileCount <= serverCount, distribution.firstServer < serverCount else {
            throw FSError(.invalidArgument, "\(distribution) needs more than the \(serverCount) servers of file system \(name)")
        }
        _ = try firstGroup(of: distribution)
    }

    /// Whether a change to a file laid out by `distribution` is done once
    /// every copy of its bytes holds it (a directory that keeps one copy
    /// of its files' bytes owes them a sync at close).
    public func acknowledgesOnEveryCopy(of distribution: Distribution?) -> Bool {
        durability == "replicated" && (distribution?.copies ?? replicas) > 1
    }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.name, \.servers, \.defaultDistribution, \.rootHandle, \.durability, \.dataReplicas, make: Self.init)
}
