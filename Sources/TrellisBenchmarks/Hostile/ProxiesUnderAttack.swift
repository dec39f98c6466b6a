import Foundation
import Glibc
import Synchronization
import TrellisCore
import TrellisRuntime
import TrellisSystem

/// A job over two hosts, its proxies in a chain (`trellis run --hosts
/// a,b --launcher fork --fanout 1`): the launcher and the first host's
/// proxy each listen for the proxies below them, on the link ports a
/// stranger would attack. Each host runs one rank that only reports where
/// its PMI service listens; this process plays both ranks, and its honest
/// request is a put by each and a fence, which crosses every link of the
/// tree, then a get of the other's value.
final class ProxiesUnderAttack: @unchecked Sendable {
    /// The launcher's and the first proxy's link ports, with their processes.
    let linkPorts: [(name: String, port: Int, pid: pid_t)]
    private let launcher: pid_t
    private let ranks: [(client: PMIClient, kvs: String)]
    private let calling = NSLock()
    private var round = 0

    init(executable: String, folder: String) throws {
        let reports = folder + "/proxies"
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let script = "echo \"$PMI_PORT $PMI_ID\" > \(reports)/$PMI_ID.tmp && mv \(reports)/$PMI_ID.tmp \(reports)/$PMI_ID && exec sleep 86400"
        launcher = try ProcessSpawner.spawn(
            arguments: [executable, "run", "--hosts", "hostile-a,hostile-b", "--launcher", "fork", "--fanout", "1", "--pmi-port", "-n", "2", "--", "/bin/sh", "-c", script],
            environment: ProcessEnvironment.current(), logPath: folder + "/proxies.log")
        var words: [[String]] = []
        _ = poll(until: .after(seconds: 60), intervalMicroseconds: 50_000) {
            words = (0..<2).map { rank in
                ((try? String(contentsOfFile: "\(reports)/\(rank)", encoding: .utf8)) ?? "").split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            return words.allSatisfy { $0.count == 2 }
        }
        do {
            guard words.allSatisfy({ $0.count == 2 }) else {
                throw BenchmarkFailure("the job over two hosts did not report its ranks' PMI ports; see \(folder)/proxies.log")
            }
            let pmiPorts = Set(words.compactMap { $0[0].split(separator: ":").last.flatMap { Int($0) } })
            guard let proxy = Self.children(of: launcher).first else { throw BenchmarkFailure("the launcher of the job over two hosts started no proxy") }
            var found: [(String, Int, pid_t)] = []
            for (name, pid) in [("launcher's link port", launcher), ("proxy's link port", proxy)] {
                let ports = Self.listeningPorts(of: pid).subtracting(pmiPorts)
                guard ports.count == 1, let port = ports.first else {
                    throw BenchmarkFailure("the \(name.replacingOccurrences(of: "'s link port", with: "")) (pid \(pid)) listens on \(ports.sorted()), not on one link port")
                }
                found.append((name, port, pid))
            }
            linkPorts = found
            var ranks: [(PMIClient, String)] = []
            for pair in words {
                let client = try PMIClient.connect(port: pair[0], id: pair[1]).client
                try client.initialize()
                ranks.append((client, try client.kvsName()))
            }
            self.ranks = ranks
        } catch {
            kill(launcher, SIGTERM)
            _ = ProcessSpawner.waitForExit(launcher)
            throw error
        }
    }

    /// Each rank puts a value of this round, both enter the fence (through
    /// every link of the tree), and each reads the other's.
    func serves() -> Bool {
        calling.withLock {
            round += 1
            let value = "round-\(round)"
            let outcomes = Mutex([Bool](repeating: false, count: ranks.count))
            let threads = ranks.indices.map { index in
                startThread(named: "honest rank \(index)") { [ranks] in
                    let (client, kvs) = ranks[index]
                    let other = (index + 1) % ranks.count
                    let ok = (try? client.put(kvs: kvs, key: "hostile-\(index)", value: value)) != nil
                        && (try? client.barrier()) != nil
                        && (try? client.get(kvs: kvs, key: "hostile-\(other)")) == value
                    outcomes.withLock { $0[index] = ok }
                }
            }
            for thread in threads { if let thread { pthread_join(thread, nil) } }
            return outcomes.withLock { $0.allSatisfy { $0 } }
        }
    }

    /// Ends the job (the launcher stops its proxies and ranks) and waits for it.
    func stop() {
        kill(launcher, SIGTERM)
        _ = ProcessSpawner.waitForExit(launcher)
    }

    /// The processes whose parent is `pid`.
    static func children(of pid: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let child = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // After the command's closing parenthesis: state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == pid ? child : nil
        }.sorted()
    }

    /// The IPv4 TCP ports `pid` listens on: its sockets (from /proc/PID/fd)
    /// that /proc/net/tcp lists in the listening state.
    static func listeningPorts(of pid: pid_t) -> Set<Int> {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let inodes = Set(descriptors.compactMap { descriptor -> String? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(descriptor)"),
                target.hasPrefix("socket:[")
            else { return nil }
            return String(target.dropFirst(8).dropLast())
        })
        let table = (try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)) ?? ""
        var ports: Set<Int> = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            // sl, local address, remote address, state, ..., inode (the tenth field).
            guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])),
                let port = fields[1].split(separator: ":").last.flatMap({ Int($0, radix: 16) })
            else { continue }
            ports.insert(port)
        }
        return ports
    }
}
