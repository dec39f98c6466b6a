import NIOCore
import TrellisFSDistribution

/// One server of a file system as the configuration lists it.
public struct ServerDescription: Sendable, Hashable, WireRecord {
    public var index: UInt32
    /// The service name it publishes (`trellis-fs/<fs>/<index>`).
    public var serviceName: String
    /// Its current port, or empty when the answering server does not know it.
    public var portName: String
    /// The host its configuration places it on (empty when unknown), so a
    /// server that does not answer can be named with its host.
    public var host: String

    public init(index: UInt32, serviceName: String, portName: String, host: String = "") {
        self.index = index
        self.serviceName = serviceName
        self.portName = portName
        self.host = host
    }

    public static let wireForm = WireForm<Self>(\.index, \.serviceName, \.portName, \.host, make: Self.init)
}

/// What a client learns from any one server: enough to reach all of them.
public struct FSConfiguration: Sendable, Hashable, WireRecord {
    public var name: String
    public var servers: [ServerDescription]
    public var defaultDistribution: Distribution
    public var rootHandle: ObjectHandle

    public init(name: String, servers: [ServerDescription], defaultDistribution: Distribution, rootHandle: ObjectHandle = .root) {
        self.name = name
        self.servers = servers
        self.defaultDistribution = defaultDistribution
        self.rootHandle = rootHandle
    }

    public static let wireForm = WireForm<Self>(\.name, \.servers, \.defaultDistribution, \.rootHandle, make: Self.init)
}
