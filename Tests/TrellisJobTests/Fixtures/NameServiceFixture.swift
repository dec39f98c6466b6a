import Foundation
import Testing
import TrellisCore
import TrellisSystem

/// A name service daemon on a free local port, stopped when the test ends.
final class NameServiceFixture {
    let address: String
    var environment: [String: String] { ["TRELLIS_NAME_SERVICE": address, "TRELLIS_NAMES_AUTOSTART": "0"] }

    init(leaseSeconds: Double = 3) throws {
        address = "127.0.0.1:\(try freePort())"
        try start(leaseSeconds: leaseSeconds)
    }

    func start(leaseSeconds: Double = 3) throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "names", "start", "--daemon", "--address", address, "--lease-seconds", String(leaseSeconds),
             "--log", NSTemporaryDirectory() + "trellis-names-test.log"],
            timeoutSeconds: 30)
        guard outcome.status == 0 else { throw FixtureFailure(description: "name service did not start: \(outcome.combined)") }
    }

    func stop() {
        _ = try? JobHarness.run([JobHarness.trellis, "names", "stop", "--address", address], timeoutSeconds: 30)
    }

    func names(_ arguments: [String]) throws -> JobHarness.Outcome {
        try JobHarness.run([JobHarness.trellis, "names"] + arguments + ["--address", address], timeoutSeconds: 30)
    }

    /// Polls `names lookup` until it succeeds (or fails, with `present: false`).
    func waitForName(_ service: String, present: Bool, seconds: Double = 20) throws -> Bool {
        try poll(until: .after(seconds: seconds), intervalMicroseconds: 100_000) { (try names(["lookup", service]).status == 0) == present }
    }

    deinit { stop() }
}

struct FixtureFailure: Error, CustomStringConvertible { let description: String }

/// A TCP port nobody listens on right now.
func freePort() throws -> Int {
    guard let port = freeLocalPort() else { throw FixtureFailure(description: "no free port") }
    return port
}
