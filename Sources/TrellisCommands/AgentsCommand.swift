import Glibc
import ArgumentParser
import Synchronization
import TrellisCore
import TrellisHosts
import TrellisLauncher
import TrellisSystem

/// `trellis agents up|down|status`: persistent agents that start jobs'
/// proxies without ssh (`--launcher agents`), as Hydra's `hydra_persist`
/// daemons and MPICH's MPD ring (mpdboot, mpdallexit, mpdtrace) did.
struct AgentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "Start, list and stop the per-host agents that launch jobs without ssh (--launcher agents).",
        discussion: """
            A job over hosts starts one proxy per host; over ssh each start pays a key
            exchange and a remote login (about 0.3 s of CPU on a small node). `trellis agents
            up --hosts LIST` starts one agent per host once, over ssh; later jobs given
            --launcher agents ask each host's agent over TCP instead. Agents and launchers
            prove to each other that they hold the key in ~/.trellis/agent.key (mode 0600,
            made on first use) before anything starts; the hosts and ports are kept in
            ~/.trellis/agents.
            """,
        subcommands: [AgentsUpCommand.self, AgentsStatusCommand.self, AgentsDownCommand.self, AgentsServeCommand.self])
}

/// What the agents commands share: the table, the key, and asking each host at once.
enum AgentsSupport {
    static var tablePath: String { AgentTable.defaultPath() }
    static var keyPath: String { AgentKey.defaultPath() }

    /// `body` for every host at once, each on its own thread; the results in the hosts' order.
    static func onEveryHost<Result: Sendable>(_ hosts: [String], _ body: @escaping @Sendable (String) -> Result) -> [Result] {
        let results = Mutex<[Int: Result]>([:])
        let threads = hosts.enumerated().map { index, host in
            startThread { let result = body(host); results.withLock { $0[index] = result } }
        }
        for thread in threads { if let thread { pthread_join(thread, nil) } }
        return hosts.indices.map { results.withLock { $0 }[$0]! }
    }

    /// The hosts named, or every host of the table.
    static func hosts(_ expression: String?, table: AgentTable) throws -> [String] {
        if let expression {
            do { return try HostList(parsing: expression).hosts.map(\.name) } catch { throw ValidationError("\(error)") }
        }
        return table.ports.keys.sorted()
    }
}
