import Testing

/// Every collective against a serial computation, at every size from 1 to 16.
@Suite(.serialized) struct CollectiveJobTests {
    @Test(arguments: Array(1...16))
    func everyCollective(ranks: Int) throws { try JobHarness.scenario("collectives", ranks: ranks, timeoutSeconds: 600) }

    @Test(arguments: [1, 3, 4])
    func nonblockingCollectivesOverlapPointToPoint(ranks: Int) throws { try JobHarness.scenario("overlap", ranks: ranks) }

    @Test(arguments: [2, 4, 9])
    func collectivesReleaseTheirBuffers(ranks: Int) throws { try JobHarness.scenario("memory", ranks: ranks) }

    @Test(arguments: [1, 2, 5])
    func communicatorManagement(ranks: Int) throws { try JobHarness.scenario("communicators", ranks: ranks) }
}
