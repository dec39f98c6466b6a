import Foundation
import TOMLKit
import TrellisCore

/// Where processes find the name service: the `TRELLIS_NAME_SERVICE`
/// environment variable, else `[names] address` in the config file
/// (`TRELLIS_CONFIG`, `~/.config/trellis/trellis.toml`, `/etc/trellis/trellis.toml`,
/// first that exists), else the default local port.
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
        for path in configPaths(environment: environment) where FileManager.default.fileExists(atPath: path) {
            if let address = try address(inConfigFile: path) { return Resolved(address: address, source: path) }
        }
        return Resolved(address: defaultAddress, source: "default")
    }

    static func configPaths(environment: [String: String]) -> [String] {
        if let explicit = environment["TRELLIS_CONFIG"], !explicit.isEmpty { return [explicit] }
        var paths: [String] = []
        if let home = environment["HOME"] { paths.append("\(home)/.config/trellis/trellis.toml") }
        paths.append("/etc/trellis/trellis.toml")
        return paths
    }

    /// The `[names] address` of a TOML file, nil when it has none.
    public static func address(inConfigFile path: String) throws -> String? {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw TrellisError(.invalidArgument, "cannot read config file \(path): \(error.localizedDescription)")
        }
        let table: TOMLTable
        do { table = try TOMLTable(string: text) } catch {
            throw TrellisError(.invalidArgument, "config file \(path) is not valid TOML: \(error)")
        }
        guard let names = table["names"] else { return nil }
        guard let value = names["address"] else { return nil }
        guard let address = value.string else {
            throw TrellisError(.invalidArgument, "config file \(path): [names] address must be a string \"host:port\"")
        }
        return address
    }
}
