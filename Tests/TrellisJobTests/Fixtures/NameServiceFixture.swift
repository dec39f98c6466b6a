import Foundation
import Testing
import TrellisCore
import TrellisRuntime
import TrellisSystem

/// A name service daemon on a free local port, stopped when the test ends.
/// It holds the cluster key this process finds (made first when there is
/// none, as `trellis up` does), or the one `keyFile` names, or, `insecure`,
/// none; its own commands (stop, lookups) prove the same.
final class NameServiceFixture {
    let address: String
    /// Where the daemon logs (refusals among the rest).
    let logPath = NSTemporaryDirectory() + "trellis-names-\(UUID().uuidString).log"
    /// What the processes that use it need: where it is, and (with a key file or insecure) which key.
    var environment: [String: String] { ["TRELLIS_NAME_SERVICE": address, "TRELLIS_NAMES_AUTOSTART": "0"].merging(keyEnvironment) { $1 } }
    private let keyEnvironment: [String: String]

    init(leaseSeconds: Double = 3, keyFile: String? = nil, insecure: Bool = false) throws {
        address = "127.0.0.1:\(try freePort())"
        if insecure {
            keyEnvironment = ["TRELLIS_AUTH": "none"]
        } else if let keyFile {
            keyEnvironment = ["TRELLIS_KEY_FILE": keyFile]
        } else {
            keyEnvironment = [:]
            _ = try ClusterKey.locateOrMake(environment: ProcessEnvironment.current())
        }
        try start(leaseSeconds: leaseSeconds)
    }

    func start(leaseSeconds: Double = 3) throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "names", "start", "--daemon", "--address", address, "--lease-seconds", String(leaseSeconds), "--log", logPath]
                + (keyEnvironment["TRELLIS_AUTH"] == "none" ? ["--insecure"] : []),
            environment: keyEnvironment, timeoutSeconds: 30)
        guard outcome.status == 0 else { throw FixtureFailure(description: "name service did not start: \(outcome.combined)") }
    }

    func stop() {
        _ = try? JobHarness.run([JobHarness.trellis, "names", "stop", "--address", address], environment: keyEnvironment, timeoutSeconds: 30)
    }

    func names(_ arguments: [String]) throws -> JobHarness.Outcome {
        try JobHarness.run([JobHarness.trellis, "names"] + arguments + ["--address", address], environment: keyEnvironment, timeoutSeconds: 30)
    }

    /// What the daemon logged.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Polls `names lookup` until it succeeds (or fails, with `present: false`).
    func waitForName(_ service: String, present: Bool, seconds: Double = 20) throws -> Bool {
        try poll(until: .after(seconds: seconds), intervalMicroseconds: 100_000) { (try names(["lookup", service]).status == 0) == present }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: logPath)
    }
}

struct FixtureFailure: Error, CustomStringConvertible { let description: String }

/// A TCP port nobody listens on right now.
func freePort() throws -> Int {
    guard let port = freeLocalPort() else { throw FixtureFailure(description: "no free port") }
    return port
}
