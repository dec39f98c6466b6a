import Testing

/// The runtime's two transports. Ranks on one host talk through shared-memory
/// lanes by default, so every other job test runs over them; these run the
/// scenarios again with every frame on TCP (`TRELLIS_TRANSPORTS=tcp`), and
/// kill a rank in the middle of a message on each.
@Suite(.serialized) struct TransportJobTests {
    static let tcpOnly = ["TRELLIS_TRANSPORTS": "tcp"]

    @Test(arguments: [2, 4, 8])
    func basicsOverTCP(ranks: Int) throws { try JobHarness.scenario("basics", ranks: ranks, environment: Self.tcpOnly) }

    @Test func orderingOverTCP() throws { try JobHarness.scenario("ordering", ranks: 4, environment: Self.tcpOnly) }

    @Test func eagerAndRendezvousSizesOverTCP() throws { try JobHarness.scenario("sizes", ranks: 2, environment: Self.tcpOnly) }

    @Test(arguments: [3, 4])
    func collectivesOverTCP(ranks: Int) throws { try JobHarness.scenario("collectives", ranks: ranks, environment: Self.tcpOnly) }

    @Test func oneSidedOverTCP() throws { try JobHarness.scenario("one-sided", ranks: 3, environment: Self.tcpOnly) }

    @Test(arguments: [["TRELLIS_TRANSPORTS": "shm,tcp"], tcpOnly])
    func aRankKilledMidMessage(environment: [String: String]) throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "run", "--keep-going", "-n", "2", JobHarness.conformance, "lane-death"], environment: environment, timeoutSeconds: 300)
        #expect(outcome.output.contains("CHECK lane-in-use \(environment["TRELLIS_TRANSPORTS"] != "tcp") ok"), "\(outcome.combined)")
        #expect(outcome.output.contains("CHECK receive-from-killed-sender peer-failed ok"), "\(outcome.combined)")
        #expect(outcome.output.contains("CHECK lane-unmapped ok"), "\(outcome.combined)")
    }
}

/// Trellis and MPICH over TCP between two namespace hosts (root and
/// namespaces needed; MPICH installed by scripts/install-system-packages.sh).
@Suite(.serialized, .enabled(if: TestHosts.unavailable == nil, "\(TestHosts.unavailable ?? "")"))
struct BetweenHostsCompareJobTests {
    @Test func pingPongBetweenHostsIsComparedWithMPICHOverTCP() throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "compare", "--between-hosts", "--pairs", "1", "--mpich-timeout-seconds", "120", "--json"], timeoutSeconds: 600)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let lines = outcome.output.split(separator: "\n")
        #expect(lines.contains { $0.contains(#""impl":"trellis-tcp""#) && $0.contains(#""bench":"pingpong-between-hosts""#) }, "\(outcome.combined)")
        let comparisons = lines.filter { $0.contains(#""bench":"pingpong-between-hosts-comparison""#) }
        #expect(comparisons.count == 3, "one comparison per size (8 B, 1 MiB, 16 MiB):\n\(outcome.combined)")
        #expect(comparisons.allSatisfy { $0.contains(#""latency_ratio_vs":{"mpich-tcp":"#) }, "MPICH's figures in every comparison:\n\(outcome.combined)")
    }
}
