import Glibc
import TrellisCore
import TrellisRuntime
import TrellisSystem

/// `trellis-conformance SCENARIO`: one
/// scenario of the runtime's behaviour, run by every rank of a job. Rank 0
/// prints `PASS SCENARIO` when all ranks passed; a failing rank prints
/// `FAIL` with its reason and exits 1.
public enum ScenarioRunner {
    static let scenarios: [String: @Sendable (Runtime) throws -> Void] = [
        "basics": Scenarios.basics,
        "tags": Scenarios.tags,
        "ordering": Scenarios.ordering,
        "cancel": Scenarios.cancel,
        "probe": Scenarios.probe,
        "collectives": Scenarios.collectives,
        "overlap": Scenarios.overlap,
        "sizes": Scenarios.sizes,
        "huge": Scenarios.huge,
        "rendezvous-memory": Scenarios.rendezvousMemory,
        "unexpected-limit": Scenarios.unexpectedLimit,
        "communicators": Scenarios.communicators,
        "deadline": Scenarios.deadline,
        "killed": Scenarios.killed,
        "memory": Scenarios.memory,
        "wildcard": Scenarios.wildcard,
        "representation": Scenarios.representation,
        "one-sided": Scenarios.oneSided,
        "parallel-io": Scenarios.parallelIO,
    ]

    /// Scenarios that end in their own way (processes die, or the job is one
    /// side of a connection) and print their own result line.
    static let standalone: [String: @Sendable (Runtime) throws -> Void] = [
        "fs-writer": Scenarios.fsWriter,
        "serve": Scenarios.serve,
        "client": Scenarios.client,
        "accept-controls": Scenarios.acceptControls,
        "join-listen": Scenarios.joinListen,
        "join-connect": Scenarios.joinConnect,
        "survive": Scenarios.survive,
        "lane-death": Scenarios.laneDeath,
        "echo-server": Scenarios.echoServer,
        "echo-client": Scenarios.echoClient,
        "spawn": Scenarios.spawn,
        "spawned-child": Scenarios.spawnedChild,
        "failure-server": Scenarios.failureServer,
        "recover": Scenarios.recover,
        "link-server": Scenarios.linkServer,
        "link-client": Scenarios.linkClient,
        "failure-client": Scenarios.failureClient,
    ]

    /// The command that runs a scenario here (scenarios that start copies of
    /// themselves append a scenario name to it).
    nonisolated(unsafe) static var invocation: [String] = []

    /// `arguments` starts with the scenario's name; `invocation` is how this
    /// program runs a scenario (its path, plus `scenario` for `trellis`).
    public static func run(arguments scenarioArguments: [String], invocation: [String]) -> Never {
        self.invocation = invocation
        let arguments = [""] + scenarioArguments
        if arguments.count >= 2, let scenario = standalone[arguments[1]] {
            runStandalone(arguments[1], scenario)
        }
        guard arguments.count >= 2, let scenario = scenarios[arguments[1]] else {
            print("usage: trellis-conformance \((scenarios.keys.sorted() + standalone.keys.sorted()).joined(separator: "|"))")
            exit(2)
        }
        var rank = -1
        do {
            let runtime = try Runtime.initialize()

            rank = runtime.world.rank
            try scenario(runtime)
            try runtime.world.barrier(deadline: .after(seconds: 120))
            if rank == 0 { print("PASS \(arguments[1]) on \(runtime.world.size) ranks") }
            try runtime.finalize()
            exit(0)
        } catch {
            writeToStandardError("FAIL \(arguments[1]) rank \(rank): \(error)\n")
            exit(1)
        }
    }

    static func runStandalone(_ name: String, _ scenario: (Runtime) throws -> Void) -> Never {
        var rank = -1
        do {
            let runtime = try Runtime.initialize()
            rank = runtime.world.rank
            try scenario(runtime)
            try runtime.finalize()
            exit(0)
        } catch {
            writeToStandardError("FAIL \(name) rank \(rank): \(error)\n")
            exit(1)
        }
    }
}
