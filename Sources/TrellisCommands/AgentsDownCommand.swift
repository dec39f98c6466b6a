import ArgumentParser
import Foundation
import TrellisCore
import TrellisHosts
import TrellisLauncher
import TrellisRunCommand

/// `trellis agents down`: stops every agent of the table (or of --hosts),
/// with the proxies they run, and forgets them.
struct AgentsDownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "down", abstract: "Stop the agents (and the proxies they run) and forget them.")

    @Option(help: "Hosts whose agents stop (all in the agent table by default).")
    var hosts: String?

    func run() throws {
        CommandLogging.bootstrap()
        var table = try AgentTable.load(from: AgentsSupport.tablePath)
        let names = try AgentsSupport.hosts(hosts, table: table).filter { table.ports[$0] != nil }
        guard !names.isEmpty else {
            print("no agents to stop in \(AgentsSupport.tablePath)")
            return
        }
        let key = try AgentKey.load(from: AgentsSupport.keyPath)
        let ports = table.ports
        let errors: [String?] = AgentsSupport.onEveryHost(names) { host in
            do {
                _ = try AgentClient.ask(host: host, port: ports[host]!, key: key, request: .stop, seconds: 10)
                return nil
            } catch let error as TrellisError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        var stopped: [String] = []
        for (host, error) in zip(names, errors) {
            // One that does not answer is gone already, or cut off: either way this table no longer reaches it.
            table.ports[host] = nil
            if let error {
                try? FileHandle.standardError.write(contentsOf: Data("trellis agents down: \(host): \(error)\n".utf8))
            } else {
                stopped.append(host)
            }
        }
        try table.save(to: AgentsSupport.tablePath)
        if !stopped.isEmpty { print("agents stopped on \(NodeSet(stopped).folded) (\(stopped.count))") }
        if stopped.count < names.count { throw ExitCode(1) }
    }
}
