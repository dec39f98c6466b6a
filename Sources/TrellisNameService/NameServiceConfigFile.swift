import Foundation
import TOMLKit
import TrellisCore

/// `[names] address` of the trellis config file: `TRELLIS_CONFIG`, else
/// `~/.config/trellis/trellis.toml`, else `/etc/trellis/trellis.toml`, the
/// first that exists.
public enum NameServiceConfigFile {
    /// The configured address and the file it came from, nil when no file sets one.
    public static func address(environment: [String: String]) throws -> (address: String, source: String)? {
        for path in paths(environment: environment) where FileManager.default.fileExists(atPath: path) {
            if let address = try address(inConfigFile: path) { return (address, path) }
        }
        return nil
    }

    static func paths(environment: [String: String]) -> [String] {
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
