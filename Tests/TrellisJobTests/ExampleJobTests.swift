import Foundation
import Testing

/// The documented examples build and do what their docs say.
@Suite(.serialized) struct ExampleJobTests {
    @Test(arguments: [
        ("example-ring", "the token came back from rank 3 holding 6"),
        ("example-collectives", "sum 6.0 over 4 ranks, allgather [0, 1, 2, 3]"),
        ("example-communicators", "row 1 rank 1/2, row sum 5"),
        ("example-nonblocking", "sum of ranks 6"),
        ("example-one-sided", "tickets [0, 1, 2, 3], counter 4"),
    ])
    func runsUnderTheLauncher(example: String, expected: String) throws {
        let program = JobHarness.binaries.appendingPathComponent(example).path
        let outcome = try JobHarness.run([JobHarness.trellis, "run", "-n", "4", program], timeoutSeconds: 120)
        #expect(outcome.status == 0, "\(outcome.combined)")
        #expect(outcome.output.contains(expected), "\(outcome.combined)")
    }
}

/// The persistent-service examples: an echo service with clients that come
/// and go, and a spawn.
@Suite(.serialized) struct ServiceExampleJobTests {
    @Test func echoServiceServesClientsThatComeAndGo() throws {
        let names = try NameServiceFixture()
        let program = JobHarness.binaries.appendingPathComponent("example-echo-service").path
        let server = try JobHarness.run([program, "serve"], environment: names.environment, timeoutSeconds: 120) { _ in
            for word in ["one", "two", "three"] {
                let client = try! JobHarness.run([program, "ask", word], environment: names.environment, timeoutSeconds: 60)
                #expect(client.output.contains("echo: \(word)"), "\(client.combined)")
            }
            // A client killed while connected does not bring the server down.
            _ = try! JobHarness.run([program, "ask", "doomed"], environment: names.environment, timeoutSeconds: 60) { child in
                kill(child.pid, SIGKILL)
            }
            let last = try! JobHarness.run([program, "ask", "--stop", "bye"], environment: names.environment, timeoutSeconds: 60)
            #expect(last.output.contains("echo: bye"), "\(last.combined)")
        }
        #expect(server.status == 0 && server.output.contains("server stopped"), "\(server.combined)")
    }

    @Test(arguments: [1, 2])
    func spawnExampleSumsWhatItsWorkersSend(ranks: Int) throws {
        let program = JobHarness.binaries.appendingPathComponent("example-spawn").path
        let command = ranks == 1 ? [program] : [JobHarness.trellis, "run", "-n", String(ranks), program]
        let outcome = try JobHarness.run(command, timeoutSeconds: 180)
        #expect(outcome.status == 0 && outcome.output.contains("sum of squares from 4 spawned workers: 30"), "\(outcome.combined)")
    }
}
