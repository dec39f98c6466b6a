import ArgumentParser
import Foundation
import Glibc
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis report`: every benchmark behind the papers' figures and
/// tables, run one after another at a chosen size, into one HTML page with
/// every table and plot, the machine and the date, so a user reproduces
/// the papers' results on their own cluster with one command. A part that
/// cannot run here (no root for a mount, no MPICH, no network namespaces)
/// says why on the page; the others still run.
public struct SeedReport: ParsableArguments {
    /// The full sizes, written to `trellis-report.html`.
    public init() {}

    @Flag(help: "Small sizes: every part in under 20 minutes on a 2-core machine.") var quick = false
    @Option(help: "The HTML page to write.") var output = "trellis-report.html"
    @Option(parsing: .upToNextOption, help: "Run only the parts whose title contains one of these words, or that run one of these benchmarks (cp, io, probe, ...).")
    var only: [String] = []

    /// How one part went.
    struct Outcome {
        let section: ReportSection
        let status: Int32
        let seconds: Double
        let records: [[String: Any]]
        let plots: [String]
        /// What went wrong, when it did.
        let failure: String?
    }

    /// Runs every part with `executable` and writes the page.
    public func run(executable: String) throws {
        let folder = NSTemporaryDirectory() + "trellis-report-\(getpid())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let canMount = getuid() == 0 && access("/dev/fuse", F_OK) == 0
        var sections = ReportSection.all(quick: quick, folder: folder, canMount: canMount)
        if !only.isEmpty {
            sections = sections.filter { section in
                only.contains { word in section.title.lowercased().contains(word.lowercased()) || section.arguments.prefix(2).contains(word.lowercased()) }
            }
        }
        let started = Date()
        var outcomes: [Outcome] = []
        for (index, section) in sections.enumerated() {
            progress("[\(index + 1)/\(sections.count)] \(section.title): trellis \(section.arguments.joined(separator: " "))")
            var failure: String?
            var result: CommandRunner.Outcome?
            let seconds = timedSecondsIgnoringErrors {
                do {
                    result = try CommandRunner.run([executable] + section.arguments, environment: ProcessEnvironment.current(), timeoutSeconds: section.timeoutSeconds)
                } catch {
                    failure = "\(error)"
                }
            }
            let records = (result?.output ?? "").split(separator: "\n").compactMap { line -> [String: Any]? in
                guard line.hasPrefix("{") else { return nil }
                return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            }
            if let result, result.status != 0 {
                failure = (result.timedOut ? "stopped after \(Int(section.timeoutSeconds)) s. " : "exit \(result.status). ") + String(result.errors.suffix(1500))
            }
            let plots = section.plots.compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }
            outcomes.append(Outcome(section: section, status: result?.status ?? -1, seconds: seconds, records: records, plots: plots, failure: failure))
            progress("    \(failure == nil ? "done" : "failed") in \(Int(seconds)) s, \(records.count) results")
        }
        let page = ReportPage(quick: quick, started: started, machine: Self.machine(), outcomes: outcomes).html()
        try page.write(toFile: output, atomically: true, encoding: .utf8)
        progress("report written to \(output) (\(outcomes.filter { $0.failure == nil }.count) of \(outcomes.count) parts ran)")
    }

    /// The machine the figures were measured on.
    static func machine() -> [(String, String)] {
        var facts: [(String, String)] = []
        if let uname = try? CommandRunner.run(["uname", "-srvm"], timeoutSeconds: 10) { facts.append(("system", uname.output.trimmingCharacters(in: .whitespacesAndNewlines))) }
        facts.append(("host", ProcessInfo.processInfo.hostName))
        facts.append(("cores", String(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let model = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") })?.split(separator: ":").last {
            facts.append(("processor", model.trimmingCharacters(in: .whitespaces)))
        }
        if let memory = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
            let total = memory.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal") }) {
            let kib = Double(total.split(separator: " ").compactMap { Double($0) }.first ?? 0)
            facts.append(("memory", String(format: "%.1f GiB", kib / 1_048_576)))
        }
        facts.append(("user", getuid() == 0 ? "root" : "uid \(getuid())"))
        return facts
    }

    private func timedSecondsIgnoringErrors(_ body: () -> Void) -> Double {
        let start = MonotonicClock.nanoseconds()
        body()
        return Double(MonotonicClock.nanoseconds() - start) / 1e9
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("report: \(text)")
    }
}
