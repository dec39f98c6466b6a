import Testing

/// The documented examples build and do what their docs say.
@Suite(.serialized) struct ExampleJobTests {
    @Test(arguments: [
        ("example-ring", "the token came back from rank 3 holding 6"),
        ("example-collectives", "sum 6.0 over 4 ranks, allgather [0, 1, 2, 3]"),
        ("example-communicators", "row 1 rank 1/2, row sum 5"),
        ("example-nonblocking", "sum of ranks 6"),
    ])
    func runsUnderTheLauncher(example: String, expected: String) throws {
        let program = JobHarness.binaries.appendingPathComponent(example).path
        let outcome = try JobHarness.run([JobHarness.trellis, "run", "-n", "4", program], timeoutSeconds: 120)
        #expect(outcome.status == 0, "\(outcome.combined)")
        #expect(outcome.output.contains(expected), "\(outcome.combined)")
    }
}
