import Foundation
import TrellisBenchmarks
import TrellisCore
import TrellisLauncher
import TrellisNames
import TrellisSystem

/// One row of `trellis probe`: a capability from the tables of the
/// persistent-services paper and the MPI storage-transport paper and
/// whether Trellis has it, as shown by a real multi-process scenario.
struct ProbeRow: Codable, Equatable {
    var table: String
    var feature: String
    /// "Y" or "N".
    var answer: String
    var detail: String
    var seconds: Double
}

/// Runs Table 1 of the persistent-services paper (Latham, Ross and Thakur,
/// "Can MPI Be Used for Persistent Parallel Services?") and Tables 1-3 of the
/// MPI storage-transport paper (the paper on MPI as the transport of a
/// replicated, striped storage service) against Trellis. Every check starts
/// real processes (`trellis-conformance SCENARIO`, `trellis run ...`), each with its
/// own time limit, and stops what it started.
final class CapabilityProbe {
    let trellis: String
    /// The program that runs the scenarios (`trellis-conformance`, built beside trellis).
    let scenarios: String
    let objectCount: Int
    private(set) var rows: [ProbeRow] = []
    private let persistentServicesTable = "Table 1 of the persistent-services paper, \"Can MPI Be Used for Persistent Parallel Services?\" (capabilities)"
    private let serverDies = "Table 1 of the MPI storage-transport paper (a server process dies)"
    private let clientDies = "Table 2 of the MPI storage-transport paper (a client job dies)"
    private let limits = "Table 3 of the MPI storage-transport paper (object limits)"

    init(trellis: String, scenarios: String, objectCount: Int) {
        self.trellis = trellis
        self.scenarios = scenarios
        self.objectCount = objectCount
    }

    func runAll(progress: (ProbeRow) -> Void) {
        let groups: [() -> [ProbeRow]] = [
            publishAcrossSingletons, connectAcceptSingletons, joinSingletons, noPriorEnvironment, spawnSingleton,
            representation, serverFailure, clientFailure, objectLimits,
        ]
        for group in groups {
            for row in group() {
                rows.append(row)
                progress(row)
            }
        }
    }

    // MARK: Helpers

    private func scenario(_ name: String) -> [String] { [scenarios, name] }

    private func run(_ arguments: [String], _ environment: [String: String] = [:], timeout: Double = 180,
                     whileRunning: ((CommandRunner.Child) -> Void)? = nil) -> CommandRunner.Outcome {
        var merged = ProcessEnvironment.current()
        merged.merge(environment) { _, new in new }
        do {
            return try CommandRunner.run(arguments, environment: merged, timeoutSeconds: timeout, whileRunning: whileRunning)
        } catch {
            return CommandRunner.Outcome(status: -1, output: "", errors: "\(error)", timedOut: false)
        }
    }

    private func row(_ table: String, _ feature: String, _ passed: Bool, _ detail: String, since start: UInt64) -> ProbeRow {
        ProbeRow(table: table, feature: feature, answer: passed ? "Y" : "N", detail: detail, seconds: Double(MonotonicClock.nanoseconds() - start) / 1e9)
    }

    /// Runs `server`, and while it runs each client in turn (with extra
    /// environment); returns every outcome, the server's first.
    private func runServed(
        _ server: [String], _ environment: [String: String], clients: [([String], [String: String])], timeout: Double = 180
    ) -> [CommandRunner.Outcome] {
        var clientOutcomes: [CommandRunner.Outcome] = []
        let serverOutcome = run(server, environment, timeout: timeout) { _ in
            for (command, extra) in clients {
                clientOutcomes.append(self.run(command, environment.merging(extra) { _, new in new }, timeout: 60))
            }
        }
        return [serverOutcome] + clientOutcomes
    }

    /// A row that says Y when every process exited 0.
    private func exitRow(_ table: String, _ feature: String, _ outcomes: [CommandRunner.Outcome], _ detail: String, since start: UInt64) -> ProbeRow {
        let passed = outcomes.allSatisfy { $0.status == 0 }
        return row(table, feature, passed, passed ? detail : failureText(outcomes), since: start)
    }

    private func failureText(_ outcomes: [CommandRunner.Outcome]) -> String {
        outcomes.map { ($0.timedOut ? "timed out; " : "") + $0.combined.split(separator: "\n").suffix(3).joined(separator: " | ") }.joined(separator: " || ")
    }

    /// A private name service for one check.
    private func withNameService<T>(_ body: ([String: String]) -> T) -> T {
        var address = ""
        for _ in 0..<5 {
            address = "127.0.0.1:\(freeLocalPort() ?? Int.random(in: 20000...30000))"
            let started = run(
                [trellis, "names", "start", "--daemon", "--address", address, "--lease-seconds", "3", "--log", "/dev/null"]
                    + NameServiceSetup.startFlags(environment: ProcessEnvironment.current()), timeout: 30)
            if started.status == 0 { break }
        }
        defer { _ = run([trellis, "names", "stop", "--address", address], timeout: 30) }
        return body(["TRELLIS_NAME_SERVICE": address, "TRELLIS_NAMES_AUTOSTART": "0"])
    }

    // MARK: Persistent-services paper, Table 1

    private func publishAcrossSingletons() -> [ProbeRow] {
        let start = MonotonicClock.nanoseconds()
        return withNameService { base in
            let environment = base.merging(["TRELLIS_TEST_SERVICE": "probe-echo"]) { _, new in new }
            let outcomes = runServed(scenario("echo-server"), environment, clients: [(scenario("echo-client"), ["TRELLIS_TEST_ROUNDS": "3"])])
            return [exitRow(persistentServicesTable, "Published name appears to other singleton processes", outcomes,
                            "a singleton published a port; another singleton looked it up and connected", since: start)]
        }
    }

    private func connectAcceptSingletons() -> [ProbeRow] {
        let start = MonotonicClock.nanoseconds()
        return withNameService { base in
            let environment = base.merging(["TRELLIS_TEST_SERVICE": "probe-connect", "TRELLIS_TEST_CLIENTS": "1"]) { _, new in new }
            let outcomes = runServed(scenario("serve"), environment, clients: [(scenario("client"), [:])])
            return [exitRow(persistentServicesTable, "Connect/Accept work under singleton init", outcomes,
                            "accept, connect, messages, merge and disconnect between two singletons", since: start)]
        }
    }

    private func joinSingletons() -> [ProbeRow] {
        let start = MonotonicClock.nanoseconds()
        let file = NSTemporaryDirectory() + "trellis-probe-join-\(getpid())"
        defer { unlink(file) }
        let outcomes = runServed(scenario("join-listen"), ["TRELLIS_TEST_JOIN_FILE": file], clients: [(scenario("join-connect"), [:])])
        return [exitRow(persistentServicesTable, "Comm join works under singleton init", outcomes,
                        "two singletons sharing a TCP socket joined, exchanged messages and merged", since: start)]
    }

    private func noPriorEnvironment() -> [ProbeRow] {
        let start = MonotonicClock.nanoseconds()
        let address = "127.0.0.1:\(freeLocalPort() ?? Int.random(in: 20000...30000))"
        defer { _ = run([trellis, "names", "stop", "--address", address], timeout: 30) }
        let environment = ["TRELLIS_NAME_SERVICE": address, "TRELLIS_NAMES_AUTOSTART": "1", "TRELLIS_TEST_SERVICE": "probe-auto"]
        let outcomes = runServed(scenario("echo-server"), environment, clients: [(scenario("echo-client"), ["TRELLIS_TEST_ROUNDS": "2"])])
        return [exitRow(persistentServicesTable, "Needs no previously established environment (lamboot, MPD, ompi-server)", outcomes,
                        "with nothing running, the first publish started the name service itself", since: start)]
    }

    private func spawnSingleton() -> [ProbeRow] {
        let start = MonotonicClock.nanoseconds()
        let outcome = run(scenario("spawn"), timeout: 240)
        let passed = outcome.status == 0 && outcome.output.contains("SPAWNED")
        return [row(persistentServicesTable, "Comm spawn works under singleton init", passed,
                    passed ? "a singleton spawned 3 children, then 1+2 of two programs; a missing program failed cleanly" : failureText([outcome]), since: start)]
    }

    private func representation() -> [ProbeRow] {
        let start = MonotonicClock.nanoseconds()
        let outcome = run([trellis, "run", "-n", "2"] + scenario("representation"), timeout: 60)
        return [
            row(persistentServicesTable, "Datatype processing supports heterogeneous architectures", outcome.checked("wire-representation"),
                "typed values travel in one fixed little-endian IEEE layout, checked byte by byte", since: start),
            row(persistentServicesTable, "Support for external32", outcome.checked("external32"),
                "External32.pack / unpack give MPI's big-endian canonical bytes", since: start),
        ]
    }

    // MARK: MPI storage-transport paper, Tables 1 and 2

    private func serverFailure() -> [ProbeRow] {
        let start = MonotonicClock.nanoseconds()
        let ranks = 4
        let outcome = run([trellis, "run", "--keep-going", "-n", String(ranks)] + scenario("survive"), timeout: 180)
        let survived = outcome.output.contains("SURVIVED") && !outcome.errors.contains("FAIL")
        let detail = survived ? "" : " — " + failureText([outcome])
        return [
            row(serverDies, "No communication: the job survives and the survivors finish", survived, "rank \(ranks - 1) SIGKILLed; survivors agreed, shrank and finalized" + detail, since: start),
            row(serverDies, "Communication over a healthy communicator", outcome.checked("healthy-communicator"), "allreduce on a communicator without the dead rank", since: start),
            row(serverDies, "Eager send, survivor is sender: returns", outcome.checked("eager-send-to-dead"), "returns (success or error), never hangs", since: start),
            row(serverDies, "Rendezvous send, survivor is sender: error", outcome.checked("rendezvous-send-to-dead"), "4 MiB send fails with peer-failed naming the process", since: start),
            row(serverDies, "Survivor is receiver: error", outcome.checked("receive-from-dead"), "receive fails with peer-failed", since: start),
            row(serverDies, "1-sided: put, flush and unlock at the dead target fail; its locks are given back", outcome.checked("one-sided-to-dead") && outcome.checked("lock-of-dead-origin-released"),
                "unlock and flush failed with peer-failed (MPICH's unlock hangs); a lock the dead rank held was released for the others", since: start),
            row(serverDies, "Collectives fail on every survivor (no hang); revoke, agree, shrink", outcome.checked("collective-failed-at-survivor", ranks - 1) && survived,
                "barrier and allreduce failed at all \(ranks - 1) survivors; agree named the dead rank; shrink gave a working communicator", since: start),
        ]
    }

    private func clientFailure() -> [ProbeRow] {
        let start = MonotonicClock.nanoseconds()
        return withNameService { base in
            var environment = base
            environment["TRELLIS_TEST_SERVICE"] = "probe-failure"
            let outcomes = runServed(
                [trellis, "run", "-n", "2"] + scenario("failure-server"), environment,
                clients: [(scenario("failure-client"), [:]), (scenario("client"), [:])])
            let (server, next) = (outcomes[0], outcomes[2])
            let survived = server.status == 0 && server.checked("serves-new-clients") && next.status == 0
            let detail = survived ? "" : " — " + failureText([server, next])
            return [
                row(clientDies, "No communication: the storage job survives", survived, "a client killed with SIGKILL mid-session; the server job ran on and served a new client" + detail, since: start),
                row(clientDies, "Communication inside the storage job", server.checked("internal-communication"), "allreduce over the server job's world after the client died", since: start),
                row(clientDies, "Eager send, server is sender: returns", server.checked("eager-send-to-dead-client"), "returns, never hangs", since: start),
                row(clientDies, "Rendezvous send, server is sender: error", server.checked("rendezvous-send-to-dead-client"), "4 MiB send fails with peer-failed", since: start),
                row(clientDies, "Server is receiver: error", server.checked("receive-from-dead-client"), "receive fails with peer-failed", since: start),
                row(clientDies, "1-sided into the dead client's window: unlock and lock fail (no hang)", server.checked("one-sided-with-dead-client", 2),
                    "the server's open shared-lock epoch ended with peer-failed at unlock; a new lock failed at once", since: start),
                row(clientDies, "Collectives with the dead client fail (no hang)", server.checked("collective-with-dead-client-failed", 2), "allreduce on the merged communicator failed at both server ranks", since: start),
                row(clientDies, "Disconnect from a dead client returns", server.checked("disconnect-from-dead-client"), "disconnect freed the client's communicator without hanging", since: start),
            ]
        }
    }

    // MARK: MPI storage-transport paper, Table 3

    private func objectLimits() -> [ProbeRow] {
        let checks = [
            ("communicators", "Communicators", "--communicators", objectCount),
            ("posted-receives", "Pending nonblocking two-sided operations", "--receives", objectCount),
            ("windows", "RMA windows", "--windows", objectCount),
            ("datatypes", "Derived datatypes (hindexed)", "--datatypes", 3 * objectCount),
        ]
        return checks.map { check, feature, option, count in
            let start = MonotonicClock.nanoseconds()
            let outcome = run([trellis, "bench", "limits"] + LimitsBenchmark.arguments(onlyChecking: option, count), timeout: 900)
            let record = LimitRecord.parseLines(outcome.output).first { $0.check == check }
            let passed = record?.ok == true && record?.count == count
            let detail = record.map { "\($0.count) at once in \(String(format: "%.1f", $0.seconds)) s, resident \(Int($0.residentMibAfter)) MiB; no limit but memory" } ?? failureText([outcome])
            return row(limits, feature, passed, detail, since: start)
        }
    }
}

extension CommandRunner.Outcome {
    /// Whether the scenario printed `CHECK marker ok` at least `count` times
    /// (once per rank that passed the check).
    func checked(_ marker: String, _ count: Int = 1) -> Bool {
        output.components(separatedBy: "CHECK \(marker) ok").count - 1 >= count
    }
}
