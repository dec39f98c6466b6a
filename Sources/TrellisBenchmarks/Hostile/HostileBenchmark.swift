import ArgumentParser
import Foundation
import Glibc
import TrellisCore
import TrellisFSClient
import TrellisFSServer
import TrellisNames
import TrellisRuntime
import TrellisSystem
import TrellisWire

/// `trellis bench hostile`: malformed, truncated, oversized and random
/// messages at every port a Trellis installation listens on, while an
/// honest client keeps using each: the servers of a file system with a
/// cluster key, the name service, the PMI port of a launcher whose rank
/// this process plays, a launch agent, and the link ports of a job's
/// launcher and proxy over two hosts. Reports per port the messages sent, how the port
/// ended them, crashes, hangs, honest requests refused, and the process's
/// memory and descriptors before and after.
public struct HostileBenchmark: ProgramBenchmark {
    /// A benchmark at the default settings (`trellis bench` sets them from its options).
    public init() {}

    @Option(help: "Hostile messages in all, spread evenly over the ports.") var messages = 100_000
    @Option(help: "Connections in flight at once.") var concurrency = 8
    @Option(help: "Seed of the messages: the same seed sends the same bytes.") var seed: UInt64 = 1
    @Option(help: "Servers of the file system under attack.") var servers = 2
    @Option(help: "Seconds a connection may stay open after its message before it counts as still open.") var patienceSeconds = 2.0
    @Flag(help: "Print only the JSON lines.") var json = false
    @OptionGroup var data: BenchFolder

    public func validate() throws {
        guard messages > 0, concurrency > 0, servers > 0, patienceSeconds > 0 else {
            throw ValidationError("--messages, --concurrency, --servers and --patience-seconds must be positive")
        }
    }

    public func run(executable: String) throws {
        let site = try data.open("hostile")
        defer { site.close() }
        // A key of the run's own, which the name service and the servers find in the environment they inherit.
        let keyFile = site.folder + "/cluster.key"
        let key = try ClusterKey.generate(at: keyFile)
        setenv("TRELLIS_KEY_FILE", keyFile, 1)
        let names = try site.startNameService(executable: executable)

        progress("starting a file system of \(servers) servers with a cluster key")
        let system = try site.startFileSystem(name: "hostile", servers: servers, subfolder: "fs", executable: executable, authentication: .key)
        let runtime = try Runtime.initialize(asSingleton: true, authentication: .key(key))
        defer { try? runtime.finalize() }
        let client = try FileSystemClient.connect(name: system.name, runtime: runtime, timeoutSeconds: 10)
        defer { client.close() }
        let nameService = names.address
        var targets: [HostileTarget] = []
        for index in 0..<servers {
            let lookup = try NameServiceClient(address: nameService, timeoutSeconds: 5).call(NameRequest(.lookup, service: "trellis-fs/hostile/\(index)"))
            guard let port = lookup.port, let address = try? PortName(parsing: port).address else {
                throw BenchmarkFailure("server \(index) of file system hostile published no port: \(lookup)")
            }
            targets.append(HostileTarget(
                name: "file-system server \(index)", address: address, framing: .frames, longestLine: 0, pid: system.serverPIDs[index],
                serves: { (try? client.ping(server: index)) != nil }))
        }
        targets.append(HostileTarget(
            name: "name service", address: nameService, framing: .lines, longestLine: NameServiceCodec.maximumLineBytes, pid: names.pid,
            serves: { (try? NameServiceClient(address: nameService, timeoutSeconds: 10).call(NameRequest(.lookup, service: "trellis-fs/hostile/0")))?.ok == true }))

        progress("starting a job under trellis run --pmi-port, whose rank this process plays")
        let job = try LauncherUnderAttack(executable: executable, folder: site.folder)
        site.onClose { job.stop() }
        targets.append(HostileTarget(
            name: "launcher PMI port", address: job.pmiPort, framing: .lines, longestLine: PMIMessageFramer.maximumLineBytes, pid: job.pid,
            serves: { job.serves() }))

        progress("starting a launch agent (trellis agents serve) with a key of its own")
        let agent = try AgentUnderAttack(executable: executable, folder: site.folder)
        site.onClose { agent.stop() }
        targets.append(HostileTarget(
            name: "launch agent", address: "127.0.0.1:\(agent.port)", framing: .frames, longestLine: 0, pid: agent.pid, serves: { agent.serves() }))

        progress("starting a job over two hosts (trellis run --launcher fork), whose proxies' link ports are attacked")
        let proxies = try ProxiesUnderAttack(executable: executable, folder: site.folder)
        site.onClose { proxies.stop() }
        for (name, port, pid) in proxies.linkPorts {
            targets.append(HostileTarget(name: name, address: "127.0.0.1:\(port)", framing: .links, longestLine: 0, pid: pid, serves: { proxies.serves() }))
        }

        progress("sending \(messages) hostile messages at \(targets.count) ports, \(concurrency) at a time (seed \(seed))")
        let campaign = HostileCampaign(targets: targets, messages: messages, seed: seed, concurrency: concurrency, patienceSeconds: patienceSeconds)
        let records = campaign.run { text in BenchmarkOutput.progress("bench hostile: \(text)") }
        for record in records { record.printLine() }
        if !json { print(Self.table(records)) }
    }

    static func table(_ records: [HostileTargetRecord]) -> String {
        var table = TextTable(["port", "messages", "closed", "open", "crashes", "hangs", "honest", "refused", "MiB before", "after", "fds before", "after"])
        for record in records {
            table.append([
                record.target, String(record.messages), String(record.closedByTarget), String(record.stillOpen), String(record.crashes), String(record.hangs),
                String(record.honestRequests), String(record.honestFailures), format(record.rssMibBefore, 1), format(record.rssMibAfter, 1),
                String(record.descriptorsBefore), String(record.descriptorsAfter),
            ])
        }
        return "\n(closed: connections the port ended after the message; open: still open after the patience; honest: requests of the honest client, refused: those not served)\n" + table.text
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench hostile: \(text)")
    }
}

/// `trellis run --pmi-port -n 1` of a rank that only reports where its PMI
/// service listens and sleeps; this process then speaks PMI in its place,
/// as an honest rank, while the campaign attacks the same port.
final class LauncherUnderAttack: @unchecked Sendable {
    let pid: pid_t
    let pmiPort: String
    private let client: PMIClient
    private let kvs: String
    private let calling = NSLock()

    init(executable: String, folder: String) throws {
        let report = folder + "/pmi-port"
        pid = try ProcessSpawner.spawn(
            arguments: [executable, "run", "--pmi-port", "-n", "1", "--", "/bin/sh", "-c", "echo \"$PMI_PORT $PMI_ID\" > \(report).tmp && mv \(report).tmp \(report) && exec sleep 86400"],
            environment: ProcessEnvironment.current(), logPath: folder + "/launcher.log")
        var words: [String] = []
        _ = poll(until: .after(seconds: 60), intervalMicroseconds: 50_000) {
            words = ((try? String(contentsOfFile: report, encoding: .utf8)) ?? "").split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            return words.count == 2
        }
        guard words.count == 2 else {
            kill(pid, SIGTERM)
            _ = ProcessSpawner.waitForExit(pid)
            throw BenchmarkFailure("the job under trellis run --pmi-port reported no PMI_PORT; see \(folder)/launcher.log")
        }
        pmiPort = words[0]
        do {
            client = try PMIClient.connect(port: words[0], id: words[1]).client
            try client.initialize()
            kvs = try client.kvsName()
            try client.put(kvs: kvs, key: "hostile-bench", value: "alive")
            try client.barrier()
        } catch {
            kill(pid, SIGTERM)
            _ = ProcessSpawner.waitForExit(pid)
            throw BenchmarkFailure("speaking PMI to the launcher at \(words[0]) failed: \(error)")
        }
    }

    /// An honest get of what this rank put at the start.
    func serves() -> Bool {
        calling.withLock { (try? client.get(kvs: kvs, key: "hostile-bench")) == "alive" }
    }

    /// Ends the job (its launcher stops the sleeping rank) and waits for it.
    func stop() {
        kill(pid, SIGTERM)
        _ = ProcessSpawner.waitForExit(pid)
    }
}
