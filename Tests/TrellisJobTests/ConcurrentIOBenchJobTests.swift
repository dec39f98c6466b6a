import Foundation
import Glibc
import Testing

/// `trellis bench io` end to end, small: two server counts, one and two
/// client processes under trellis run, both layouts, through the client
/// library and the FUSE mount (root); every point has both directions with
/// their baselines and ratios, and the plot is written.
@Suite(.serialized) struct ConcurrentIOBenchJobTests {
    struct Line: Decodable {
        var bench: String
        var layout: String
        var via: String
        var servers: Int
        var clients: Int
        var bytes: Int
        var seconds: Double
        var mibPerSecond: Double
        var localFileMibPerSecond: Double
        var tcpMibPerSecond: Double
        var writeVsLocalRatio: Double?
        var readVsTcpRatio: Double?
    }

    @Test(.enabled(if: getuid() == 0 && access("/dev/fuse", F_OK) == 0, "needs root and /dev/fuse: a third of it goes through a FUSE mount"))
    func everyPointHasBothDirectionsTheirBaselinesAndAPlot() throws {
        let plot = NSTemporaryDirectory() + "bench-io-\(UUID().uuidString).svg"
        defer { try? FileManager.default.removeItem(atPath: plot) }
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "io", "--servers", "1", "2", "--clients", "1", "2", "--mib-per-server", "1", "--chunk-kib", "256", "--via", "native", "mpiio", "mount", "--json", "--plot", plot],
            timeoutSeconds: 600)
        #expect(outcome.status == 0, "\(outcome.combined)")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let lines = outcome.output.split(separator: "\n").compactMap { try? decoder.decode(Line.self, from: Data($0.utf8)) }
        #expect(lines.count == 48, "2 server counts × 2 client counts × 2 layouts × 3 ways × 2 directions: \(outcome.combined)")
        for line in lines {
            #expect(line.bytes == line.clients * line.servers << 20, "each client moves 1 MiB per server: \(line)")
            #expect(line.seconds > 0 && line.mibPerSecond > 0 && line.localFileMibPerSecond > 0 && line.tcpMibPerSecond > 0, "\(line)")
            if line.bench == "io-write" {
                #expect(line.writeVsLocalRatio != nil && line.readVsTcpRatio == nil, "\(line)")
            } else {
                #expect(line.bench == "io-read" && line.readVsTcpRatio != nil && line.writeVsLocalRatio == nil, "\(line)")
            }
        }
        #expect(Set(lines.map(\.layout)) == ["shared", "per-process"] && Set(lines.map(\.via)) == ["native", "mpiio", "mount"])
        let svg = try String(contentsOfFile: plot, encoding: .utf8)
        #expect(svg.contains("<svg") && svg.contains("write, 2 servers, shared, native") && svg.contains("read, 1 servers, per-process, mount") && svg.contains("write, 1 servers, shared, mpiio"))
    }
}
