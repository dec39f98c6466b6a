import Foundation
import NIOCore
import TrellisRuntime
import TrellisSystem

/// One host's outcome in a cluster tool's report.
public protocol ClusterToolHostResult: Codable, Sendable {
    /// The host's name, as the job's host list gives it.
    var host: String { get }
    /// The host's rank in the job; rank 0's host holds the sources.
    var rank: Int { get }
    /// Why this host failed, or what went wrong on the source; nil when nothing did.
    var error: String? { get }
    /// Rank 0's host, which holds the sources and is not a destination.
    var isSource: Bool { get }
    /// The tool did on this host all it was asked to.
    var isDone: Bool { get }
}

extension ClusterToolHostResult {
    /// Every rank's result, at every rank, in rank order. Ranks that share a
    /// host with the one writing there (and have nothing to say) take no part
    /// in the report.
    static func gathered(_ mine: Self, on communicator: Communicator) throws -> [Self] {
        let all = try communicator.allgather(ByteBuffer(bytes: try JSONEncoder().encode(mine)))
        return try all.map { try JSONDecoder().decode(Self.self, from: Data($0.readableBytesView)) }
            .filter { !$0.isSource || $0.rank == 0 || $0.error != nil }
    }
}

/// What the reports of `trellis stage` and `trellis sync` share: a result
/// per host, rank 0's error in reading the sources, and how the command ends.
public protocol ClusterToolReport: Codable, Sendable {
    /// The type of each host's result.
    associatedtype HostResult: ClusterToolHostResult
    /// The command's name, as messages start: `stage`, `sync`.
    static var tool: String { get }
    /// Each host's result, in rank order (rank 0's host first).
    var hosts: [HostResult] { get }
    /// Why rank 0 could not read the sources; nil when it could.
    var sourceError: String? { get }
    /// One line: what went where, how fast, and who failed.
    func summary() -> String
    /// Each problem with its host, one line each.
    func problems() -> [String]
}

extension ClusterToolReport {
    /// The hosts written to (all but the source's).
    public var destinations: [HostResult] { hosts.filter { !$0.isSource } }
    /// Whether the sources were read, no host reported an error, and every
    /// destination did all it was asked.
    public var succeeded: Bool { sourceError == nil && hosts.allSatisfy { $0.error == nil } && destinations.allSatisfy(\.isDone) }
    /// The command's exit code: 0 when it succeeded, 1 otherwise.
    public var exitCode: Int32 { succeeded ? 0 : 1 }

    /// The report as the command ends: the whole result as pretty JSON, or
    /// each problem on stderr and one summary line (on stdout when all went well).
    public func printEnding(json: Bool) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            if let data = try? encoder.encode(self) { writeAll(1, Array(data) + [UInt8(ascii: "\n")]) }
            return
        }
        for line in problems() { writeToStandardError("trellis \(Self.tool): \(line)\n") }
        let line = "trellis \(Self.tool): \(summary())\n"
        if succeeded { writeAll(1, Array(line.utf8)) } else { writeToStandardError(line) }
    }
}
