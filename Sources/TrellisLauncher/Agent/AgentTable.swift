import Glibc
import TrellisCore
import TrellisSystem

/// Which hosts run an agent and on which port: `trellis agents up` writes
/// it, `--launcher agents` reads it. One line per host, `host port`.
public struct AgentTable: Sendable, Equatable {
    /// The port of each host's agent, by host name.
    public var ports: [String: Int] = [:]

    /// A table of the given hosts' agent ports.
    public init(ports: [String: Int] = [:]) { self.ports = ports }

    /// `~/.trellis`, where the table and the key live.
    public static func folder(_ environment: [String: String] = ProcessEnvironment.current()) -> String {
        if let home = environment["HOME"], !home.isEmpty { return home + "/.trellis" }
        if let entry = getpwuid(getuid()), let directory = entry.pointee.pw_dir { return String(cString: directory) + "/.trellis" }
        return "/tmp/.trellis-\(getuid())"
    }

    /// `$TRELLIS_AGENTS_FILE`, or `~/.trellis/agents`.
    public static func defaultPath(_ environment: [String: String] = ProcessEnvironment.current()) -> String {
        if let path = environment["TRELLIS_AGENTS_FILE"], !path.isEmpty { return path }
        return folder(environment) + "/agents"
    }

    /// The table at `path`; an empty one when there is no file.
    public static func load(from path: String) throws -> AgentTable {
        guard access(path, F_OK) == 0 else { return AgentTable() }
        guard let text = readTextFile(path) else { throw TrellisError(.invalidArgument, "cannot read the agent table \(path)") }
        var table = AgentTable()
        for (number, line) in text.split(separator: "\n").enumerated() where !line.hasPrefix("#") {
            let words = line.split(separator: " ")
            guard words.count == 2, let port = Int(words[1]), (1...65535).contains(port) else {
                throw TrellisError(.invalidArgument, "\(path) line \(number + 1): expected `host port`, found `\(line)`")
            }
            table.ports[String(words[0])] = port
        }
        return table
    }

    /// Writes the table under a temporary name and renames it, so a reader never sees half of it.
    public func save(to path: String) throws {
        let folder = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !folder.isEmpty { mkdir(folder, 0o700) }
        let temporary = path + ".\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TrellisError(.systemCall, "cannot write the agent table \(path)", underlying: SystemCallError("open", errno: errno)) }
        let text = "# host port: agents that `trellis agents up` started\n" + ports.keys.sorted().map { "\($0) \(ports[$0]!)\n" }.joined()
        let written = writeAll(fd, Array(text.utf8))
        close(fd)
        guard written, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw TrellisError(.systemCall, "cannot write the agent table \(path)", underlying: SystemCallError("rename", errno: errno))
        }
    }

    /// The agent port of each of `hosts`; names the hosts without one (this host needs none).
    public func ports(of hosts: [String], tablePath: String) throws -> [String: Int] {
        let missing = hosts.filter { ports[$0] == nil && !ProxyBootstrap.isThisHost($0) }
        guard missing.isEmpty else {
            throw TrellisError(.invalidArgument, "no agent on \(missing.joined(separator: ", ")) in \(tablePath): start them with `trellis agents up --hosts ...`")
        }
        return ports.filter { hosts.contains($0.key) }
    }
}
