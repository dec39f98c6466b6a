import ArgumentParser
import Foundation
import TrellisCore
import TrellisHosts
import TrellisLauncher
import TrellisRunCommand
import TrellisSystem

/// `trellis agents up --hosts LIST`: one agent per host, started over ssh
/// (this host's forked), their ports kept in the agent table.
struct AgentsUpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "up", abstract: "Start an agent on every host (over ssh) and remember their ports.")

    @Option(help: "Hosts, as a node set: node[01-16].")
    var hosts: String

    @Option(help: "The ssh command and its options, as one string: \"ssh -F cluster.conf\".")
    var ssh: String = "ssh"

    @Option(help: "The port every agent listens on (0: each picks a free one).")
    var port: Int = 0

    func run() throws {
        CommandLogging.bootstrap()
        let names = try AgentsSupport.hosts(hosts, table: AgentTable())
        let key = try AgentKey.loadOrCreate(at: AgentsSupport.keyPath)
        var table = try AgentTable.load(from: AgentsSupport.tablePath)
        let known = table
        let trellis = trellisProgram()
        let sshWords = ssh.split(separator: " ").map(String.init)
        let port = self.port
        let outcomes: [Result<Int, TrellisError>] = AgentsSupport.onEveryHost(names) { host in
            // One that already answers with this key stays.
            if let running = known.ports[host], (try? AgentClient.ask(host: host, port: running, key: key, request: .ping, seconds: 3)) != nil {
                return .success(running)
            }
            let serve = [trellis, "agents", "serve", "--port", String(port)]
            let command = ProxyBootstrap.isThisHost(host)
                ? serve : sshWords + ["-T", host, "exec " + serve.map(ProxyBootstrap.shellQuoted).joined(separator: " ")]
            do {
                let outcome = try CommandRunner.run(command, input: key.hex + "\n", timeoutSeconds: 60)
                let words = outcome.output.split(separator: "\n").first?.split(separator: " ") ?? []
                guard outcome.status == 0, words.count == 4, words[0] == "agent", let port = Int(words[2]) else {
                    let said = outcome.combined.trimmingCharacters(in: .whitespacesAndNewlines)
                    return .failure(TrellisError(.launchFailed, "\(host): the agent did not start (\(said.isEmpty ? "exit \(outcome.status)" : said))"))
                }
                return .success(port)
            } catch let error as TrellisError {
                return .failure(TrellisError(error.code, "\(host): \(error.message)"))
            } catch {
                return .failure(TrellisError(.launchFailed, "\(host): \(error)"))
            }
        }
        var started: [String] = []
        var failed: [String] = []
        for (host, outcome) in zip(names, outcomes) {
            switch outcome {
            case .success(let port):
                table.ports[host] = port
                started.append(host)
            case .failure(let error):
                failed.append(host)
                try? FileHandle.standardError.write(contentsOf: Data("trellis agents up: \(error.message)\n".utf8))
            }
        }
        try table.save(to: AgentsSupport.tablePath)
        if !started.isEmpty { print("agents up on \(NodeSet(started).folded) (\(started.count)); table \(AgentsSupport.tablePath)") }
        if !failed.isEmpty {
            print("no agent on \(NodeSet(failed).folded) (\(failed.count))")
            throw ExitCode(1)
        }
    }
}
