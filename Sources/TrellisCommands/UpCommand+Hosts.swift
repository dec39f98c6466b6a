import Glibc
import ArgumentParser
import Foundation
import TrellisCore
import TrellisFSServer
import TrellisHosts
import TrellisLauncher
import TrellisNames
import TrellisRunCommand
import TrellisRuntime
import TrellisSystem

/// `trellis up --hosts`: a file system for a job over hosts, as BeeOND's
/// `beeond start -n nodefile` or GekkoFS under srun bring one up: the name
/// service on the first host and one server per host, started through the
/// launcher's proxies (one `up-host` rank per host), each server's data
/// under the data folder on its own host. Ctrl-C, SIGTERM or `trellis down`
/// stops it on every host; a host that fails is named and the others serve on.
extension UpCommand {
    func runOverHosts() throws {
        guard mount == nil else {
            throw ValidationError("--mount mounts on this host only; with --hosts, mount on any host with `trellis mount \(name) DIR`")
        }
        let list: HostList
        do {
            list = try HostList(parsing: hosts!)
        } catch let error as HostListError {
            throw ValidationError("\(error)")
        }
        let names = list.names
        guard (1...256).contains(names.count) else { throw ValidationError("--hosts names 1 to 256 hosts") }
        guard let kind = ProxyBootstrap.Kind(rawValue: launcher) else { throw ValidationError("--launcher takes ssh, slurm or fork, not \(launcher)") }
        let folder = URL(fileURLWithPath: data).standardizedFileURL.path
        // Every address as the hosts see one another (names resolve alike across a cluster).
        let addresses = try names.map { kind == .fork ? "127.0.0.1" : try Self.address(ofHost: $0) }
        let namesAddress = "\(addresses[0]):\(namesPort)"
        var configuration = try FileSystemConfiguration(
            name: name, servers: addresses.enumerated().map { .init(host: $1, storage: "\(folder)/server\($0)") }, stripSizeBytes: stripSizeBytes,
            precreateBatch: precreateBatch, replicas: replicas, dataReplicas: try dataReplicas.map(Self.counts) ?? [])
        configuration.authentication = insecure ? .none : .key
        if let trustedRootHosts {
            do {
                configuration.trustedRootHosts = try HostList(parsing: trustedRootHosts).names.map { kind == .fork ? "127.0.0.1" : try Self.address(ofHost: $0) }
            } catch let error as HostListError {
                throw ValidationError("--trusted-root-hosts: \(error)")
            }
        }
        if !insecure {
            // Each host's server looks for the key in its own standard places (a home shared over the hosts holds this one).
            let (path, made) = try ClusterKey.locateOrMake(environment: ProcessEnvironment.current())
            if made { print("made a cluster key at \(path) (mode 0400): every host of the file system and its clients needs it") }
        }
        let me = currentExecutablePath()
        var options = LaunchOptions(rankCount: names.count, program: [me, "up-host", "--data", folder, "--names", namesAddress])
        options.hosts = HostList(names.map { HostList.Host(name: $0, slots: 1) })
        options.ranksPerHost = 1
        // A server host that fails is named; the others go on serving what does not need it.
        options.keepGoing = true
        options.tagOutput = true
        options.report = true
        options.graceSeconds = 10
        // A server host whose link is cut for a while stays in the file system: its groups fail over after
        // failover_seconds and it is resynced when the link returns, rather than stopped after a job's 30 s
        // (TCP's retransmissions back off, so a 20 s cut can keep a link silent for 35 s).
        options.linkTimeoutSeconds = 90
        options.environment = [UpHostCommand.configurationKey: configuration.toml(), UpHostCommand.rootTimeKey: String(Int64(Date().timeIntervalSince1970))]
        if insecure { options.environment["TRELLIS_AUTH"] = "none" }
        options.bootstrap = proxyBootstrap(kind, command: kind == .slurm ? "srun" : ssh)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let clientFile = folder + "/client.toml"
        try "# Where clients find file system '\(name)': TRELLIS_CONFIG=\(clientFile)\n[names]\naddress = \"\(namesAddress)\"\n"
            .write(toFile: clientFile, atomically: true, encoding: .utf8)
        try UpCommand.writePID(in: folder)
        defer { unlink(folder + "/" + UpCommand.pidFile) }
        let serviceNames = (0..<names.count).map(configuration.serviceName(ofServer:))
        let hostList = NodeSet(names).folded
        let announcer = startThread {
            let client = NameServiceClient(address: namesAddress, timeoutSeconds: 2, authentication: NameServiceSetup.authentication(environment: options.environment))
            let up = poll(until: .after(seconds: 120), intervalMicroseconds: 200_000) {
                serviceNames.allSatisfy { (try? client.call(NameRequest(.lookup, service: $0)))?.ok == true }
            }
            let text = up
                ? "file system '\(self.name)' is up: \(names.count) servers on \(hostList), data in \(folder) on each, name service \(namesAddress)\n"
                    + "clients on any host: TRELLIS_CONFIG=\(clientFile) (or TRELLIS_NAME_SERVICE=\(namesAddress)); Ctrl-C or `trellis down --data \(folder)` stops it\n"
                : "not every server of '\(self.name)' published its port within 120 s; the hosts' lines above say why\n"
            writeAll(1, Array(text.utf8))
            if up, let readyFile = self.readyFile {
                try? writeReadyFile(ReadyRecord(name: self.name, servers: names.count, data: folder, mount: nil, pid: getpid()), to: readyFile)
            }
        }
        defer { if let readyFile { unlink(readyFile) } }
        let code = try JobLauncher(options: options).run()
        _ = announcer
        // Stopped as asked (Ctrl-C, SIGTERM, trellis down): that is how `up` ends.
        if code == 128 + SIGINT || code == 128 + SIGTERM || code == 0 {
            print("file system '\(name)' stopped on every host")
            return
        }
        throw ExitCode(code)
    }

    /// A host's IPv4 address, as this host resolves its name; this host's own reachable one for itself.
    static func address(ofHost host: String) throws -> String {
        ProxyBootstrap.isThisHost(host) ? try IPv4Address.ofThisHost() : try IPv4Address.resolveHost(host)
    }
}

/// `trellis down --data DIR`: stops the file system `trellis up` runs with
/// that data folder, on every host it runs on, and waits until it has.
struct DownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Stop the file system that trellis up runs with a data folder, on every host.")

    @Option(help: "The data folder given to trellis up.") var data = "trellis-data"
    @Option(help: "Seconds to wait for it to stop.") var waitSeconds: Double = 60

    func run() throws {
        let folder = URL(fileURLWithPath: data).standardizedFileURL.path
        let path = folder + "/" + UpCommand.pidFile
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CommandFailure("no trellis up runs with data in \(folder) (\(path) is missing)")
        }
        guard kill(pid, SIGTERM) == 0 else {
            unlink(path)
            throw CommandFailure("trellis up (pid \(pid)) with data in \(folder) is not running")
        }
        guard poll(until: .after(seconds: waitSeconds), intervalMicroseconds: 100_000, { kill(pid, 0) != 0 || JobProcess.isZombie(pid) }) else {
            throw CommandFailure("trellis up (pid \(pid)) did not stop within \(Int(waitSeconds)) s")
        }
        print("stopped the file system with data in \(folder)")
    }
}

enum JobProcess {
    /// A process that ended and waits for its parent to reap it.
    static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }
}
