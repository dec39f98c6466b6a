import ArgumentParser
import Dispatch
import Foundation
import Logging
import TrellisBenchmarks
import TrellisCore
import TrellisKeys
import TrellisNameService
import TrellisNames
import TrellisRunCommand
import TrellisServices
import TrellisSystem

/// `trellis names ...`: the persistent name service and a client for it.
struct NamesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "names",
        abstract: "Run and query the name service that maps service names to ports.",
        discussion: """
            Processes find the name service through TRELLIS_NAME_SERVICE (host:port), else
            `[names] address` in the config file (TRELLIS_CONFIG, ~/.config/trellis/trellis.toml,
            /etc/trellis/trellis.toml), else \(NameServiceLocation.defaultAddress).
            """,
        subcommands: [NamesStart.self, NamesStatus.self, NamesStop.self, NamesList.self, NamesLookup.self])
}

struct NameServiceAddressOption: ParsableArguments {
    @Option(help: "The name service's host:port (default: from the environment, config file, or \(NameServiceLocation.defaultAddress)).")
    var address: String?

    func resolve() throws -> String {
        if let address { return address }
        return try NameServiceLocation.resolve().address
    }

    func client() throws -> NameServiceClient { NameServiceClient(address: try resolve()) }
}

struct NamesStart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Run the name service in the foreground, or as a daemon with --daemon.")
    @OptionGroup var location: NameServiceAddressOption
    @Option(help: "Seconds a name outlives its publisher's last renewal (a killed publisher's names go at once).")
    var leaseSeconds: Double = 10
    @Flag(help: "Detach, and return once the service answers.")
    var daemon = false
    @Option(help: "Log file of the daemon (default: /tmp/trellis-names-PORT.log).")
    var log: String?
    @Flag(help: "Serve without a cluster key: anyone who reaches the port may publish, withdraw and stop (processes that hold a key will not use it).")
    var insecure = false
    @OptionGroup var metrics: MetricsOptions

    /// The key it proves and asks for: the one the environment names, as every Trellis process finds it.
    private func key() throws -> ClusterKey? {
        guard !insecure else { return nil }
        let environment = ProcessEnvironment.current()
        guard let key = try PeerAuthentication.fromEnvironment.key(environment: environment) else {
            let places = ClusterKey.standardPaths(environment: environment).joined(separator: " or ")
            throw CommandFailure(
                "the name service will not start without a cluster key: none at \(places), and TRELLIS_KEY_FILE names none. "
                    + "Make one with `trellis keygen \(ClusterKey.standardPaths(environment: environment)[0])` (trellis up makes it on its first run), "
                    + "or pass --insecure to serve anyone who reaches its port")
        }
        return key
    }

    func run() throws {
        TrellisCommand.bootstrapLogging()
        let address = try location.resolve()
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
            throw ValidationError("address '\(address)' is not host:port")
        }
        guard leaseSeconds > 0 else { throw ValidationError("--lease-seconds must be positive") }
        let key = try key()
        if let answer = try? NameServiceClient(address: address, timeoutSeconds: 1, authentication: key.map { .key($0) } ?? .none).call(NameRequest(.status)) {
            throw CommandFailure("a name service already runs at \(address) (pid \(answer.pid.map(String.init) ?? "?"))")
        }
        if daemon {
            try startDaemon(address: address, port: port, key: key)
            return
        }
        let host = String(address[..<colon])
        let server = try NameServiceServer.start(host: host, port: port, leaseSeconds: leaseSeconds, key: key)
        if key == nil {
            Logger(label: "trellis.names").warning("the name service at \(server.address) runs without a cluster key (--insecure): anyone who reaches its port may publish, withdraw names and stop it")
        }
        let endpoint = try metrics.endpoint(ownHost: host)
        print("name service listening on \(server.address) (lease \(leaseSeconds) s, pid \(getpid()))\(endpoint.map { ", metrics at http://\($0.published)/metrics" } ?? "")")
        fflush(nil)
        let service = BlockingService("name service at \(server.address)", run: server.waitUntilClosed, stop: server.close)
        try ServiceRunner.runUntilSignalled([service] + (endpoint.map { [$0.endpoint] } ?? []), logger: Logger(label: "trellis.names"))
    }

    private func startDaemon(address: String, port: Int, key: ClusterKey?) throws {
        let logPath = log ?? "/tmp/trellis-names-\(port).log"
        let pid = try ProcessSpawner.spawn(
            arguments: [currentExecutablePath(), "names", "start", "--address", address, "--lease-seconds", String(leaseSeconds)] + metrics.arguments
                + (insecure ? ["--insecure"] : []),
            environment: ProcessEnvironment.current(), logPath: logPath, newSession: true)
        let client = NameServiceClient(address: address, timeoutSeconds: 1, authentication: key.map { .key($0) } ?? .none)
        let answered = try poll(until: .after(seconds: 15), intervalMicroseconds: 50_000) {
            if (try? client.call(NameRequest(.status))) != nil { return true }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let tail = (try? String(contentsOfFile: logPath, encoding: .utf8))?.split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
                throw CommandFailure("the name service daemon exited at start:\n\(tail)")
            }
            return false
        }
        if answered {
            print("name service running at \(address) (pid \(pid), log \(logPath))")
            return
        }
        throw CommandFailure("the name service daemon (pid \(pid)) did not answer at \(address) within 15 s; see \(logPath)")
    }
}

struct NamesStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Whether the name service answers, and what it holds.")
    @OptionGroup var location: NameServiceAddressOption
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let client = try location.client()
        let answer = try client.call(NameRequest(.status))
        if json {
            try printJSON(StatusReport(address: client.address, pid: answer.pid, names: answer.names ?? 0, leaseSeconds: answer.leaseSeconds ?? 0))
        } else {
            print("name service at \(client.address): pid \(answer.pid.map(String.init) ?? "?"), \(answer.names ?? 0) names, lease \(answer.leaseSeconds ?? 0) s")
        }
    }

    struct StatusReport: Encodable {
        var address: String
        var pid: Int?
        var names: Int
        var leaseSeconds: Double
    }
}

struct NamesStop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop the name service.")
    @OptionGroup var location: NameServiceAddressOption

    func run() throws {
        let client = try location.client()
        let pid = try client.call(NameRequest(.status)).pid
        try client.call(NameRequest(.shutdown))
        client.disconnect()
        // Return once it is gone, so a new one can take the port.
        if let pid { _ = poll(until: .after(seconds: 10)) { kill(pid_t(pid), 0) != 0 } }
        print("name service at \(client.address) stopped")
    }
}

struct NamesList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the published names.")
    @OptionGroup var location: NameServiceAddressOption
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let entries = try location.client().call(NameRequest(.list)).entries ?? []
        if json {
            try printJSON(entries.map { ["service": $0.service, "port": $0.port, "publisher": $0.publisher] })
            return
        }
        if entries.isEmpty { print("no names published") }
        let width = entries.map(\.service.count).max() ?? 0
        for entry in entries {
            print("\(entry.service.padding(toLength: width, withPad: " ", startingAt: 0))  \(entry.port)  (publisher \(entry.publisher))")
        }
    }
}

struct NamesLookup: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lookup", abstract: "Print the port published under a service name.")
    @OptionGroup var location: NameServiceAddressOption
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "The service name.") var service: String

    func run() throws {
        let port = try location.client().call(NameRequest(.lookup, service: service)).port ?? ""
        if json { try printJSON(["service": service, "port": port]) } else { print(port) }
    }
}

/// A failure that ends the command with its message and exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One JSON object per line, keys sorted, flushed (fsck and the benches report as they go).
/// Prints one JSON object on a line of its own, keys sorted, and flushes.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
    fflush(nil)
}

/// Runs `action` on SIGINT or SIGTERM; keep the returned sources alive.
func stopOnSignals(_ action: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler(handler: action)
        source.resume()
        return source
    }
}
