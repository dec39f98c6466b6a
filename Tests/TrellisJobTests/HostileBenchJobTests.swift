import Foundation
import Testing

/// `trellis bench hostile` end to end, small: a few thousand malformed,
/// truncated, oversized and random messages at a keyed file system's
/// servers, the name service, a launcher's PMI port, a launch agent and
/// the link ports of a job's launcher and proxy, while an honest client
/// uses each. No port may crash, hang, refuse the honest client,
/// or keep what the campaign left behind.
@Suite(.serialized) struct HostileBenchJobTests {
    struct Line: Decodable {
        var bench: String
        var target: String
        var messages: Int
        var messagesByKind: [String: Int]
        var closedByTarget: Int
        var stillOpen: Int
        var connectFailures: Int
        var crashes: Int
        var hangs: Int
        var honestRequests: Int
        var honestFailures: Int
        var rssMibBefore: Double
        var rssMibAfter: Double
        var descriptorsBefore: Int
        var descriptorsAfter: Int
    }

    @Test func everyPortSurvivesHostileInputAndServesAnHonestClientThroughout() throws {
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "hostile", "--messages", "7000", "--servers", "2", "--seed", "7", "--json"], timeoutSeconds: 600)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let lines = outcome.output.split(separator: "\n").compactMap { try? decoder.decode(Line.self, from: Data($0.utf8)) }
        #expect(lines.map(\.target) == [
            "file-system server 0", "file-system server 1", "name service", "launcher PMI port", "launch agent", "launcher's link port", "proxy's link port",
        ], "\(outcome.combined)")
        #expect(lines.map(\.messages).reduce(0, +) == 7000)
        for line in lines {
            #expect(line.crashes == 0 && line.hangs == 0, "\(line.target): \(line)")
            #expect(line.connectFailures == 0, "\(line.target) took every connection: \(line)")
            #expect(Set(line.messagesByKind.keys) == ["random", "truncated", "oversized", "mutated"], "\(line.target): \(line)")
            #expect(line.honestRequests > 1 && line.honestFailures == 0, "\(line.target) served the honest client throughout: \(line)")
            #expect(line.stillOpen == 0 && line.closedByTarget == line.messages, "\(line.target) ended every hostile connection: \(line)")
            #expect(line.descriptorsAfter <= line.descriptorsBefore + 2, "\(line.target) closed what the campaign opened: \(line)")
            // Nothing of 1,000 connections a port stays: 8 KiB kept per connection (two empty buffers) would be 8 MiB.
            #expect(line.rssMibAfter <= line.rssMibBefore + 6, "\(line.target)'s memory stayed flat: \(line)")
        }
    }
}
