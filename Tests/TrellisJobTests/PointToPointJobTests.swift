import Testing

/// Point-to-point behaviour in real multi-process jobs.
@Suite(.serialized) struct PointToPointJobTests {
    @Test(arguments: [1, 2, 3, 4, 8])
    func ranksAndSizes(ranks: Int) throws { try JobHarness.scenario("basics", ranks: ranks) }

    @Test(arguments: [1, 2, 5])
    func tagAndSourceMatching(ranks: Int) throws { try JobHarness.scenario("tags", ranks: ranks) }

    @Test(arguments: [2, 4, 8])
    func noOvertakingUnderManySenders(ranks: Int) throws { try JobHarness.scenario("ordering", ranks: ranks) }

    @Test(arguments: [1, 2, 5])
    func cancel(ranks: Int) throws { try JobHarness.scenario("cancel", ranks: ranks) }

    @Test(arguments: [2, 3])
    func probe(ranks: Int) throws { try JobHarness.scenario("probe", ranks: ranks) }

    @Test(arguments: [1, 3])
    func deadlines(ranks: Int) throws { try JobHarness.scenario("deadline", ranks: ranks) }

    @Test func messagesAcrossTheEagerAndRendezvousSizes() throws { try JobHarness.scenario("sizes", ranks: 2) }

    @Test func aOneGibibyteMessage() throws { try JobHarness.scenario("huge", ranks: 2, timeoutSeconds: 600) }

    @Test func largeUnmatchedMessagesWaitAtTheSender() throws { try JobHarness.scenario("rendezvous-memory", ranks: 2) }

    @Test func theUnexpectedQueueLimitGivesAClearError() throws {
        try JobHarness.scenario("unexpected-limit", ranks: 2, environment: ["TRELLIS_UNEXPECTED_LIMIT_BYTES": "100000"])
    }

    @Test func aProgramStartedWithoutTheLauncherIsASingleton() throws {
        let outcome = try JobHarness.run([JobHarness.conformance, "basics"])
        #expect(outcome.status == 0, "\(outcome.combined)")
        #expect(outcome.output.contains("PASS basics on 1 ranks"))
    }
}
