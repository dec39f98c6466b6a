import Foundation
import Testing
import TrellisFSServer

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
            environment["TRELLIS_KEY_FILE"] = key
            // The test's own environment must not lend a key to the client that should have none.
            let command = ["/usr/bin/env", "-u", "TRELLIS_KEY_FILE", JobHarness.trellis, "fs", arguments[0], "--name", fixture.name] + arguments.dropFirst()
            return try JobHarness.run(key == nil ? command : Array(command.dropFirst(3)), environment: environment, timeoutSeconds: 120)
        }
        let made = try fs(["mkdir", "-p", "/keyed/dir"], key: key)
        #expect(made.status == 0, "\(made.combined)\n\(fixture.logTails())")
        let listed = try fs(["ls", "--json", "/keyed"], key: key)
        #expect(listed.status == 0 && listed.output.contains("/keyed/dir"), "\(listed.combined)")

        let refused = try fs(["ls", "/keyed"], key: nil)
        #expect(refused.status != 0, "\(refused.combined)")
        #expect(refused.combined.contains("cluster key"), "the error says why: \(refused.combined)")
        #expect(fixture.logTails(lines: 200).contains("did not prove it holds the cluster key"), "a server logs the refusal")
        let still = try fs(["ls", "--json", "/keyed"], key: key)
        #expect(still.status == 0 && still.output.contains("/keyed/dir"), "the servers serve on: \(still.combined)")
    }
}
