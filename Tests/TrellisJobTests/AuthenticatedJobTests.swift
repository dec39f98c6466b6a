import Foundation
import Glibc
import Testing
import TrellisFSServer
import TrellisSystem

/// Jobs whose ranks hold a cluster key made by `trellis keygen`: every
/// connection between them (and to the children they spawn) is
/// authenticated, and the runtime's scenarios pass as without one; a key
/// file others may read stops a rank before it talks to anyone.
@Suite(.serialized) struct AuthenticatedJobTests {
    private func keyFolder() throws -> String {
        let path = NSTemporaryDirectory() + "trellis-key-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    /// A home folder that holds no key, and the environment of a user whose
    /// home it is, reaching the name service `names`.
    private func emptyHome(in folder: String, names: NameServiceFixture) throws -> (home: String, environment: [String: String]) {
        let home = folder + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        return (home, names.environment.merging(["HOME": home]) { $1 })
    }

    @Test func aJobWhoseRanksHoldAKeyRunsAsWithoutOne() throws {
        let folder = try keyFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let key = folder + "/cluster.key"
        let made = try JobHarness.run([JobHarness.trellis, "keygen", key])
        #expect(made.status == 0 && made.output.contains(key), "\(made.combined)")
        for (name, ranks) in [("basics", 4), ("sizes", 2), ("collectives", 4)] {
            try JobHarness.scenario(name, ranks: ranks, environment: ["TRELLIS_KEY_FILE": key])
        }
        // Children inherit the key, and talk to their parents over authenticated connections.
        let spawned = try JobHarness.run(
            [JobHarness.trellis, "run", "-n", "2", JobHarness.conformance, "spawn"], environment: ["TRELLIS_KEY_FILE": key], timeoutSeconds: 240)
        #expect(spawned.status == 0 && spawned.output.contains("SPAWNED from 2 ranks"), "\(spawned.combined)")
        let again = try JobHarness.run([JobHarness.trellis, "keygen", key])
        #expect(again.status != 0 && again.combined.contains("exists already"), "keygen never replaces a key:\n\(again.combined)")
    }

    @Test func aKeyFileOthersMayReadStopsTheJobNamingTheFile() throws {
        let folder = try keyFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let key = folder + "/cluster.key"
        #expect(try JobHarness.run([JobHarness.trellis, "keygen", key]).status == 0)
        chmod(key, 0o644)
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "run", "-n", "2", JobHarness.conformance, "basics"], environment: ["TRELLIS_KEY_FILE": key], timeoutSeconds: 120)
        #expect(outcome.status != 0, "\(outcome.combined)")
        #expect(outcome.combined.contains(key) && outcome.combined.contains("chmod 400"), "\(outcome.combined)")
    }

    /// Servers that hold a key serve clients that hold it, and refuse one
    /// without it, which fails at once naming why instead of waiting out
    /// its timeout.
    @Test func aFileSystemWhoseServersHoldAKeyServesOnlyClientsThatHoldIt() throws {
        let folder = try keyFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let key = folder + "/cluster.key"
        #expect(try JobHarness.run([JobHarness.trellis, "keygen", key]).status == 0)
        let fixture = try FileSystemFixture(servers: 2, keyFile: key)
        func fs(_ arguments: [String], key: String?) throws -> JobHarness.Outcome {
            var environment = fixture.environment
            // A client meant to hold no key must not find the user's.
            environment[key == nil ? "TRELLIS_AUTH" : "TRELLIS_KEY_FILE"] = key ?? "none"
            let command = ["/usr/bin/env", "-u", "TRELLIS_KEY_FILE", JobHarness.trellis, "fs", arguments[0], "--name", fixture.name] + arguments.dropFirst()
            return try JobHarness.run(key == nil ? command : Array(command.dropFirst(3)), environment: environment, timeoutSeconds: 120)
        }
        let made = try fs(["mkdir", "-p", "/keyed/dir"], key: key)
        #expect(made.status == 0, "\(made.combined)\n\(fixture.logTails())")
        let listed = try fs(["ls", "--json", "/keyed"], key: key)
        #expect(listed.status == 0 && listed.output.contains("/keyed/dir"), "\(listed.combined)")

        let refused = try fs(["ls", "/keyed"], key: nil)
        #expect(refused.status != 0, "\(refused.combined)")
        #expect(refused.combined.contains("it asks for the cluster key, and this process holds none"), "the error says why: \(refused.combined)")
        let other = folder + "/other.key"
        #expect(try JobHarness.run([JobHarness.trellis, "keygen", other]).status == 0)
        let wrong = try fs(["ls", "/keyed"], key: other)
        #expect(wrong.status != 0, "\(wrong.combined)")
        #expect(wrong.combined.contains("refused this process: it holds another cluster key"), "the error says why: \(wrong.combined)")
        // The name service, which every client asks first, refuses them and logs it.
        #expect(fixture.names.log.contains("refused a connection from 127.0.0.1"), "the name service logs the refusal:\n\(fixture.names.log)")
        let still = try fs(["ls", "--json", "/keyed"], key: key)
        #expect(still.status == 0 && still.output.contains("/keyed/dir"), "the servers serve on: \(still.combined)")
    }

    /// A server without a key will not start, and says how to make one;
    /// `--insecure` (auth = "none") starts it without one.
    @Test func aServerWithoutAKeyWillNotStartUnlessInsecure() throws {
        let folder = try keyFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let names = try NameServiceFixture(insecure: true)
        let (home, environment) = try emptyHome(in: folder, names: names)
        let configuration = try LocalFileSystem.prepare(name: "keyless\(getpid())", servers: 1, folder: folder + "/fs", authentication: .none)
        let config = LocalFileSystem.configPath(in: folder + "/fs")
        try configuration.toml().replacingOccurrences(of: "auth = \"none\"", with: "auth = \"key\"").write(toFile: config, atomically: true, encoding: .utf8)
        let server = ["/usr/bin/env", "-u", "TRELLIS_KEY_FILE", "-u", "TRELLIS_AUTH", JobHarness.trellis, "server", "--config", config, "--index", "0"]
        if !FileManager.default.fileExists(atPath: "/etc/trellis/cluster.key") {
            let refused = try JobHarness.run(server, environment: environment, timeoutSeconds: 60)
            #expect(refused.status != 0, "\(refused.combined)")
            #expect(refused.combined.contains("will not start without a cluster key") && refused.combined.contains("trellis keygen \(home)/.config/trellis/cluster.key"),
                "\(refused.combined)")
            #expect(!FileManager.default.fileExists(atPath: home + "/.config/trellis/cluster.key"), "a server makes no key")
        }
        var ready = false
        let insecure = try JobHarness.run(server + ["--insecure"], environment: environment, timeoutSeconds: 60) { child in
            ready = poll(until: .after(seconds: 30)) { child.output.contains("ready at") }
            kill(child.pid, SIGTERM)
        }
        #expect(ready && insecure.status == 0, "\(insecure.combined)")
        #expect(insecure.combined.contains("runs without authentication"), "\(insecure.combined)")
    }

    /// `trellis up` makes the user's key on its first run; its servers and
    /// the user's clients find it there, and the next run keeps it.
    @Test func upMakesAKeyOnItsFirstRunThatItsClientsFind() throws {
        let folder = try keyFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // No name service runs at this address: up starts one, which holds the key it made.
        let home = folder + "/home"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let environment = ["HOME": home, "TRELLIS_NAME_SERVICE": "127.0.0.1:\(try freePort())", "TRELLIS_NAMES_AUTOSTART": "0"]
        let key = home + "/.config/trellis/cluster.key"
        let name = "upkey\(getpid())"
        func trellis(_ arguments: [String]) -> [String] { ["/usr/bin/env", "-u", "TRELLIS_KEY_FILE", "-u", "TRELLIS_AUTH", JobHarness.trellis] + arguments }
        var made: JobHarness.Outcome?
        let readyFile = folder + "/ready"
        let up = try JobHarness.run(trellis(["up", "--servers", "2", "--data", folder + "/data", "--name", name, "--ready-file", readyFile]), environment: environment, timeoutSeconds: 180) { child in
            defer { kill(child.pid, SIGINT) }
            guard poll(until: .after(seconds: 90), { FileManager.default.fileExists(atPath: readyFile) }) else { return }
            made = try? JobHarness.run(trellis(["fs", "mkdir", "--name", name, "/made-with-the-key"]), environment: environment, timeoutSeconds: 60)
        }
        #expect(up.output.contains("made a cluster key at \(key)"), "\(up.combined)")
        var status = stat()
        #expect(stat(key, &status) == 0 && status.st_mode & 0o777 == 0o400, "the key is the user's alone")
        #expect(made?.status == 0, "a client of the same user finds the key: \(made?.combined ?? "no client ran")")
        let text = try String(contentsOfFile: key, encoding: .utf8)
        let again = try JobHarness.run(trellis(["up", "--servers", "2", "--data", folder + "/data", "--name", name, "--ready-file", readyFile]), environment: environment, timeoutSeconds: 180) { child in
            _ = poll(until: .after(seconds: 90)) { FileManager.default.fileExists(atPath: readyFile) }
            kill(child.pid, SIGINT)
        }
        #expect(!again.output.contains("made a cluster key"), "\(again.combined)")
        #expect(try String(contentsOfFile: key, encoding: .utf8) == text, "the next run keeps the key")
    }
}
