import Foundation
import TrellisCore

/// Which cluster key a process proves to its peers and asks of them.
public enum PeerAuthentication: Sendable {
    /// `TRELLIS_AUTH=none`: none. Else the file `TRELLIS_KEY_FILE` names;
    /// else the first of `ClusterKey.standardPaths` that exists; else none.
    case fromEnvironment
    /// This key.
    case key(ClusterKey)
    /// No key: peers are not authenticated, and a peer that holds a key refuses this process.
    case none

    /// The key as a process with `environment` finds it, found now: for a
    /// process that speaks for others whose environment it was handed.
    public func resolved(environment: [String: String]) throws -> PeerAuthentication {
        try key(environment: environment).map { .key($0) } ?? .none
    }

    /// The key, read from its file where it names one.
    public func key(environment: [String: String]) throws -> ClusterKey? {
        switch self {
        case .key(let key): return key
        case .none: return nil
        case .fromEnvironment:
            if environment["TRELLIS_AUTH"] == "none" { return nil }
            return try ClusterKey.locate(environment: environment).map(ClusterKey.load(from:))
        }
    }
}

extension ClusterKey {
    /// Where a key is looked for when `TRELLIS_KEY_FILE` names none: the
    /// user's own, then the host's (the places trellis.toml is looked for).
    public static func standardPaths(environment: [String: String]) -> [String] {
        (environment["HOME"].map { ["\($0)/.config/trellis/cluster.key"] } ?? []) + ["/etc/trellis/cluster.key"]
    }

    /// The key file `TRELLIS_KEY_FILE` names, else the first of
    /// `standardPaths` that exists; nil when there is none.
    public static func locate(environment: [String: String]) -> String? {
        if let named = environment["TRELLIS_KEY_FILE"], !named.isEmpty { return named }
        return standardPaths(environment: environment).first { FileManager.default.fileExists(atPath: $0) }
    }

    /// The key `locate` finds, or a new one made at the user's standard
    /// path (its folder made private) when there is none: what `trellis up`
    /// does on its first run. Two processes that make it at once share the
    /// one that was written first.
    public static func locateOrMake(environment: [String: String]) throws -> (path: String, made: Bool) {
        if let path = locate(environment: environment) { return (path, false) }
        guard let path = standardPaths(environment: environment).first, path.hasPrefix("/"), environment["HOME"] != nil else {
            throw TrellisError(.invalidArgument, "no cluster key was found and none can be made: HOME is not set (make one with trellis keygen and name it with TRELLIS_KEY_FILE)")
        }
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            _ = try generate(at: path)
            return (path, true)
        } catch where FileManager.default.fileExists(atPath: path) {
            // Another process made it first.
            _ = try load(from: path)
            return (path, false)
        }
    }
}
