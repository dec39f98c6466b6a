import TrellisCore
import TrellisSystem

/// Where processes find the name service: the `TRELLIS_NAME_SERVICE`
/// environment variable, else the configured address when this process's
/// `NameServiceSetup` reads configuration (the trellis commands read
/// `[names] address` of their config file), else the default local port.
public enum NameServiceLocation {
    /// The port a name service listens on when nothing else is configured.
    public static let defaultPort = 7117
    /// Where processes look when neither the environment nor a config file names an address.
    public static let defaultAddress = "127.0.0.1:\(defaultPort)"
    /// The environment variable that names the name service's `host:port`; it overrides any config file.
    public static let environmentKey = "TRELLIS_NAME_SERVICE"

    /// An address and where it came from.
    public struct Resolved: Sendable, Equatable {
        /// The name service's `host:port`.
        public var address: String
        /// Where the address came from: "environment", a config file path, or "default".
        public var source: String
    }

    /// The address to use: from `environment`, else the setup's configured
    /// address, else `defaultAddress`. Throws when the configuration cannot be read
    /// (a config file that is unreadable or not valid TOML, or whose `[names] address`
    /// is not a string).
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
