import TrellisCore
import TrellisSystem

/// Where processes find the name service: the `TRELLIS_NAME_SERVICE`
/// environment variable, else the configured address when this process's
/// `NameServiceSetup` reads configuration (the trellis commands read
/// `[names] address` of their config file), else the default local port.
public enum NameServiceLocation {
    public static let defaultPort = 7117
    public static let defaultAddress = "127.0.0.1:\(defaultPort)"
    public static let environmentKey = "TRELLIS_NAME_SERVICE"

    public struct Resolved: Sendable, Equatable {
        public var address: String
        /// Where the address came from: "environment", a config file path, or "default".
        public var source: String
    }

    public static func resolve(environment: [String: String] = ProcessEnvironment.current()) throws -> Resolved {
        if let address = environment[environmentKey], !address.isEmpty {
            return Resolved(address: address, source: "environment \(environmentKey)")
        }
        if let configured = try NameServiceSetup.current.configuredAddress?(environment) {
            return Resolved(address: configured.address, source: configured.source)
        }
        return Resolved(address: defaultAddress, source: "default")
    }
}
