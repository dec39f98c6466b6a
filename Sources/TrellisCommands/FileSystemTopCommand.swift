import ArgumentParser
import Foundation
import TrellisCore
import TrellisFSClient
import TrellisNames
import TrellisServices

extension FileSystemCommand {
    /// `trellis fs top`: every server's live rates, from the `/metrics` each
    /// serves, as `beegfs-ctl --iostat` and Lustre's `llstat` show them.
    struct Top: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "top",
            abstract: "Show each server's live request, byte and error rates (JSON: one record per server per round).",
            discussion: """
                Each server serves Prometheus metrics and publishes where as trellis-fs/NAME/INDEX/metrics; this \
                scrapes them every --interval seconds and prints what changed. A server that does not answer is \
                named, and the others are still shown.
                """)
        @OptionGroup var options: FileSystemOptions
        @Option(help: "Seconds between two scrapes.") var interval: Double = 2
        @Option(help: "Rounds to show (0: until Ctrl-C).") var count = 0
        @Option(help: "Busiest operations shown per server.") var operations = 3
        @Flag(help: "One JSON object per server and round.") var json = false

        struct Record: Codable {
            var round: Int
            var server: Int
            var metrics: String?
            var requestsPerSecond: Double
            var readBytesPerSecond: Double
            var writtenBytesPerSecond: Double
            var errorsPerSecond: Double
            var sessions: Double
            var operationsPerSecond: [String: Double]
            var error: String?
        }

        func validate() throws {
            guard interval > 0 else { throw ValidationError("--interval must be positive") }
            guard count >= 0 else { throw ValidationError("--count cannot be negative") }
        }

        func run(_ fs: FileSystemClient) throws {
            let names = NameServiceClient(address: try NameServiceLocation.resolve().address, timeoutSeconds: 2)
            let endpoints: [String?] = fs.configuration.servers[fs.configuration.metadataGroups].map { server in
                (try? names.call(NameRequest(.lookup, service: server.serviceName + "/metrics")))?.port
            }
            var previous = endpoints.map { $0.flatMap { try? MetricsScrape.fetch($0) } }
            var previousAt = MonotonicClock.nanoseconds()
            var round = 1
            while count == 0 || round <= count {
                usleep(UInt32(interval * 1_000_000))
                let now = endpoints.map { address in address.map { address in Result { try MetricsScrape.fetch(address) } } }
                let at = MonotonicClock.nanoseconds()
                let seconds = Double(at - previousAt) / 1e9
                let records = endpoints.indices.map { record(server: $0, address: endpoints[$0], before: previous[$0], now: now[$0], seconds: seconds, round: round) }
                if json {
                    for record in records { try printJSON(record) }
                } else {
                    show(records, fileSystem: fs.configuration.name)
                }
                fflush(nil)
                previous = now.map { try? $0?.get() }
                previousAt = at
                round += 1
            }
        }

        private func record(server: Int, address: String?, before: [MetricSample]?, now: Result<[MetricSample], any Error>?, seconds: Double, round: Int) -> Record {
            var record = Record(
                round: round, server: server, metrics: address, requestsPerSecond: 0, readBytesPerSecond: 0, writtenBytesPerSecond: 0,
                errorsPerSecond: 0, sessions: 0, operationsPerSecond: [:], error: nil)
            guard let now else {
                record.error = "publishes no metrics address (started with --no-metrics, or not running)"
                return record
            }
            let after: [MetricSample]
            do { after = try now.get() } catch {
                record.error = "\(error)"
                return record
            }
            let delta = MetricsDelta(before: before ?? [], after: after, seconds: seconds)
            record.requestsPerSecond = delta.rate("trellis_fs_requests_total")
            record.readBytesPerSecond = delta.rate("trellis_fs_read_bytes_total")
            record.writtenBytesPerSecond = delta.rate("trellis_fs_written_bytes_total")
            record.errorsPerSecond = delta.rate("trellis_fs_errors_total")
            record.sessions = delta.current("trellis_fs_sessions")
            record.operationsPerSecond = delta.rates("trellis_fs_requests_total", by: "operation").filter { $0.value > 0 }
            return record
        }

        private func show(_ records: [Record], fileSystem: String) {
            let mebibyte = 1024.0 * 1024.0
            print("\(fileSystem), last \(String(format: "%.1f", interval)) s")
            print(String(format: "%6@ %11@ %11@ %11@ %9@ %8@  %@", "server", "requests/s", "read MiB/s", "write MiB/s", "errors/s", "sessions", "busiest operations"))
            for record in records {
                if let error = record.error {
                    print(String(format: "%6d  ", record.server) + "no metrics: \(error)")
                    continue
                }
                let busiest = record.operationsPerSecond.sorted { $0.value > $1.value }.prefix(operations)
                    .map { "\($0.key) \(String(format: "%.0f", $0.value))/s" }.joined(separator: ", ")
                print(String(
                    format: "%6d %11.1f %11.2f %11.2f %9.1f %8.0f  %@", record.server, record.requestsPerSecond, record.readBytesPerSecond / mebibyte,
                    record.writtenBytesPerSecond / mebibyte, record.errorsPerSecond, record.sessions, busiest))
            }
            let live = records.filter { $0.error == nil }
            print(String(
                format: "%6@ %11.1f %11.2f %11.2f %9.1f %8.0f", "total", live.map(\.requestsPerSecond).reduce(0, +),
                live.map(\.readBytesPerSecond).reduce(0, +) / mebibyte, live.map(\.writtenBytesPerSecond).reduce(0, +) / mebibyte,
                live.map(\.errorsPerSecond).reduce(0, +), live.map(\.sessions).reduce(0, +)))
        }
    }
}
