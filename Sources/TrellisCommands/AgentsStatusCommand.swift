import ArgumentParser
import Foundation
import TrellisCore
import TrellisHosts
import TrellisLauncher
import TrellisRunCommand

/// `trellis agents status`: asks every agent of the table (or of --hosts) who it is.
struct AgentsStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Ask every agent whether it answers, and how many proxies it runs.")

    @Option(help: "Hosts to ask (all in the agent table by default).")
    var hosts: String?

    @Flag(help: "One JSON object per host.")
    var json = false

    struct HostStatus: Codable, Sendable {
        var host: String
        var port: Int?
        var answers: Bool
        var pid: Int?
        var proxies: Int?
        var error: String?
    }

    func run() throws {
        CommandLogging.bootstrap()
        let table = try AgentTable.load(from: AgentsSupport.tablePath)
        let names = try AgentsSupport.hosts(hosts, table: table)
        guard !names.isEmpty else {
            print("no agents in \(AgentsSupport.tablePath): trellis agents up --hosts LIST starts them")
            return
        }
        let key = try AgentKey.load(from: AgentsSupport.keyPath)
        let statuses = AgentsSupport.onEveryHost(names) { host in Self.ask(host, port: table.ports[host], key: key) }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for status in statuses { print(String(decoding: try encoder.encode(status), as: UTF8.self)) }
        } else {
            for status in statuses {
                if status.answers {
                    print("\(status.host): agent pid \(status.pid!) on port \(status.port!), \(status.proxies!) prox\(status.proxies == 1 ? "y" : "ies") running")
                } else {
                    print("\(status.host): \(status.error!)")
                }
            }
        }
        let silent = statuses.filter { !$0.answers }.map(\.host)
        if !silent.isEmpty {
            if !json { print("not answering: \(NodeSet(silent).folded) (\(silent.count) of \(names.count))") }
            throw ExitCode(1)
        }
    }

    static func ask(_ host: String, port: Int?, key: AgentKey) -> HostStatus {
        guard let port else { return HostStatus(host: host, port: nil, answers: false, error: "no agent in the table") }
        do {
            // "agent HOST pid PID proxies N"
            let words = try AgentClient.ask(host: host, port: port, key: key, request: .ping, seconds: 5).split(separator: " ")
            guard words.count == 6, let pid = Int(words[3]), let proxies = Int(words[5]) else {
                return HostStatus(host: host, port: port, answers: false, error: "an unexpected answer: \(words.joined(separator: " "))")
            }
            return HostStatus(host: host, port: port, answers: true, pid: pid, proxies: proxies)
        } catch let error as TrellisError {
            return HostStatus(host: host, port: port, answers: false, error: error.message)
        } catch {
            return HostStatus(host: host, port: port, answers: false, error: "\(error)")
        }
    }
}
