import Foundation
import Testing

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
}
