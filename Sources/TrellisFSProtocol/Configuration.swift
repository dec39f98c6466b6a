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
    /// Its servers, by index.
    public var servers: [ServerDescription]
    /// How a new file is striped where no directory says otherwise.
    public var defaultDistribution: Distribution
    /// The root directory (on server 0).
    public var rootHandle: ObjectHandle
    /// When a change is acknowledged: "fsync" or "replicated" (the `durability` of the file system's TOML).
    public var durability: String

    /// The file system as its servers describe it to clients.
    public init(name: String, servers: [ServerDescription], defaultDistribution: Distribution, rootHandle: ObjectHandle = .root, durability: String = "fsync") {
        self.name = name
        self.servers = servers
        self.defaultDistribution = defaultDistribution
        self.rootHandle = rootHandle
        self.durability = durability
    }

    /// Copies of every object: the first server's group and its other copies.
    public var replicas: Int { (servers.first?.copies.count ?? 0) + 1 }

    /// Whether a change is done once every copy holds it, on disk or not
    /// (`durability = "replicated"`): then a close owes no sync.
    public var acknowledgesOnEveryCopy: Bool { durability == "replicated" && replicas > 1 }

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(\.name, \.servers, \.defaultDistribution, \.rootHandle, \.durability, make: Self.init)
}
