import Foundation
import Testing
import TrellisCore
import TrellisFSServer
import TrellisServices
import TrellisSystem

/// The systemd units in deploy/systemd, run as systemd would run them: their
/// ExecStart and Environment lines, with the install paths and ports made
/// this test's, start a name service and two servers that serve; the
/// units' stop signal stops each in good order.
@Suite("systemd units", .serialized)
struct SystemdUnitJobTests {
    static let units = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/systemd")

    struct Unit {
        var execStart: String
        var environment: [String: String]
        var killSignal: String
    }

    /// The [Service] lines that start the process (continuations and comments aside, as the units have none).
    static func unit(_ name: String) throws -> Unit {
        let text = try String(contentsOf: units.appendingPathComponent(name), encoding: .utf8)
        var unit = Unit(execStart: "", environment: [:], killSignal: "SIGTERM")
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            if line.hasPrefix("ExecStart=") { unit.execStart = String(line.dropFirst("ExecStart=".count)) }
            if line.hasPrefix("KillSignal=") { unit.killSignal = String(line.dropFirst("KillSignal=".count)) }
            if line.hasPrefix("Environment="), let equals = line.dropFirst("Environment=".count).firstIndex(of: "=") {
                let assignment = line.dropFirst("Environment=".count)
                unit.environment[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
            }
        }
        return unit
    }

    /// systemd's expansion of `${VAR}` and `%i`, with the paths and ports the test substitutes.
    static func command(_ unit: Unit, instance: String = "", replacing: [(String, String)]) -> [String] {
        var line = unit.execStart.replacingOccurrences(of: "%i", with: instance)
        for (key, value) in unit.environment { line = line.replacingOccurrences(of: "${\(key)}", with: value) }
        for (from, to) in replacing { line = line.replacingOccurrences(of: from, with: to) }
        return line.split(separator: " ").map(String.init)
    }

    @Test func theUnitsStartAFileSystemThatServesAndStopInGoodOrder() throws {
        let names = try Self.unit("trellis-names.service")
        let server = try Self.unit("trellis-server@.service")
        #expect(names.killSignal == "SIGTERM" && server.killSignal == "SIGTERM")
        #expect(server.environment["TRELLIS_NAMES_AUTOSTART"] == "0", "a server under systemd must not start a name service of its own")

        let folder = NSTemporaryDirectory() + "trellis-units-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var pids: [pid_t] = []
        defer {
            for pid in pids where JobHarness.isAlive(pid) { kill(pid, SIGKILL); _ = ProcessSpawner.waitForExit(pid) }
            try? FileManager.default.removeItem(atPath: folder)
        }
        let fileSystem = "units\(getpid())"
        let configuration = try LocalFileSystem.prepare(name: fileSystem, servers: 2, folder: folder)
        let namesPort = try freePort()
        let namesAddress = "127.0.0.1:\(namesPort)"
        var environment = ProcessEnvironment.current()
        environment["TRELLIS_NAME_SERVICE"] = namesAddress

        let namesMetrics = try freePort()
        pids.append(try ProcessSpawner.spawn(
            arguments: Self.command(names, replacing: [
                ("/usr/local/bin/trellis", JobHarness.trellis), ("0.0.0.0:7117", namesAddress), ("0.0.0.0:9465", "127.0.0.1:\(namesMetrics)"),
            ]),
            environment: environment.merging(names.environment) { _, unit in unit }, logPath: folder + "/names.log"))
        #expect(poll(until: .after(seconds: 30), intervalMicroseconds: 50_000) { (try? MetricsScrape.fetch("127.0.0.1:\(namesMetrics)")) != nil })

        var serverMetrics: [Int] = []
        for index in 0..<2 {
            let metricsPort = try freePort()
            serverMetrics.append(metricsPort)
            var unitEnvironment = server.environment
            unitEnvironment["TRELLIS_METRICS_ADDRESS"] = "127.0.0.1:\(metricsPort)"
            pids.append(try ProcessSpawner.spawn(
                arguments: Self.command(Unit(execStart: server.execStart, environment: unitEnvironment, killSignal: server.killSignal), instance: String(index), replacing: [
                    ("/usr/local/bin/trellis", JobHarness.trellis), ("/etc/trellis/fs.toml", LocalFileSystem.configPath(in: folder)),
                ]),
                environment: environment.merging(unitEnvironment) { _, unit in unit }, logPath: folder + "/server\(index).log"))
        }
        try LocalFileSystem.waitUntilServing(configuration, environment: environment, seconds: 60, logs: folder)

        let ping = try JobHarness.run([JobHarness.trellis, "fs", "ping", "--name", fileSystem], environment: ["TRELLIS_NAME_SERVICE": namesAddress], timeoutSeconds: 60)
        #expect(ping.status == 0, "\(ping.combined)")
        for port in serverMetrics {
            let samples = try MetricsScrape.fetch("127.0.0.1:\(port)")
            #expect(samples.contains { $0.name == "trellis_fs_requests_total" && $0.value > 0 }, "the ping reached every server")
        }
        let lookups = try MetricsScrape.fetch("127.0.0.1:\(namesMetrics)")
        #expect(lookups.contains { $0.name == "trellis_names_requests_total" && $0.labels["operation"] == "publish" && $0.value >= 2 })

        // What systemctl stop does: the units' KillSignal, then a wait.
        for pid in pids.reversed() {
            kill(pid, SIGTERM)
            #expect(ProcessSpawner.waitForExit(pid) == 0, "\((try? String(contentsOfFile: folder + "/server0.log", encoding: .utf8)) ?? "")")
        }
        pids.removeAll()
    }
}
