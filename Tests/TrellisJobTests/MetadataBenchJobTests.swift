import Foundation
import Testing
import TrellisSystem

/// `trellis bench meta` end to end, small: every phase runs and reports.
@Suite struct MetadataBenchJobTests {
    struct Record: Decodable {
        var bench: String; var op: String; var layout: String; var bytes: Int; var clients: Int; var files: Int; var operations_per_second: Double
        var server_cpu_microseconds_per_operation: Double?
    }

    private func bench(_ arguments: [String]) throws -> [Record] {
        let outcome = try JobHarness.run([JobHarness.trellis, "bench", "meta"] + arguments, timeoutSeconds: 300)
        #expect(outcome.status == 0, "\(outcome.combined)")
        return outcome.output.split(separator: "\n").compactMap { try? JSONDecoder().decode(Record.self, from: Data($0.utf8)) }
    }

    @Test func theBenchRunsEveryPhaseFromSeveralProcessesAndReportsRates() throws {
        let records = try bench(["--servers", "2", "--clients", "2", "--files", "20"])
        // Empty files: create, stat, list, remove; 3,901-byte files add read; each in a shared and in per-process directories.
        #expect(records.count == 2 * 4 + 2 * 5, "\(records)")
        #expect(Set(records.map(\.op)) == ["create", "stat", "list", "read", "remove"] && Set(records.map(\.layout)) == ["shared", "unique"])
        #expect(records.allSatisfy { $0.clients == 2 && $0.operations_per_second > 0 && $0.bench == "meta" }, "\(records)")
        // A shared listing is every client reading all 40 entries.
        #expect(records.allSatisfy { $0.files == ($0.op == "list" && $0.layout == "shared" ? 80 : 40) }, "\(records)")
        // The servers' CPU per operation, read from /proc: every create costs some.
        #expect(records.allSatisfy { ($0.server_cpu_microseconds_per_operation ?? -1) >= 0 }, "\(records)")
        #expect(records.filter { $0.op == "create" }.allSatisfy { ($0.server_cpu_microseconds_per_operation ?? 0) > 0 }, "\(records)")
    }

    @Test func layoutsCanBeChosenAndABadOneIsRefused() throws {
        let records = try bench(["--servers", "2", "--clients", "1", "--files", "10", "--bytes", "0", "--layouts", "shared"])
        #expect(records.map(\.op) == ["create", "stat", "list", "remove"] && records.allSatisfy { $0.layout == "shared" }, "\(records)")
        let refused = try JobHarness.run([JobHarness.trellis, "bench", "meta", "--layouts", "sideways"], timeoutSeconds: 60)
        #expect(refused.status != 0 && refused.combined.contains("--layouts"), "\(refused.combined)")
    }

    /// SIGTERM in the middle of a run stops the bench and all it started:
    /// its name service, servers and client processes end, and its folder goes.
    @Test func aBenchStoppedBySIGTERMLeavesNothingRunning() throws {
        var benchPID: pid_t = 0
        var started: [pid_t] = []
        let outcome = try JobHarness.run(
            [JobHarness.trellis, "bench", "meta", "--servers", "2", "--clients", "2", "--files", "1000000", "--bytes", "0", "--layouts", "shared"],
            timeoutSeconds: 180
        ) { child in
            benchPID = child.pid
            _ = poll(until: .after(seconds: 120)) { child.errors.contains("bench meta: create") }
            started = Self.descendants(of: child.pid)
            kill(child.pid, SIGTERM)
        }
        #expect(outcome.status == 128 + SIGTERM, "\(outcome.combined)")
        // The name service, two servers and two clients at least.
        #expect(started.count >= 5, "the bench had started \(started)")
        Self.expectAllEnded(started)
        #expect(!FileManager.default.fileExists(atPath: NSTemporaryDirectory() + "trellis-bench-meta-\(benchPID)"))
    }

    /// A bench whose output is closed under it (`| head -1`) stops what it
    /// started, as on SIGTERM: the pipe's signal used to end it at once.
    @Test func aBenchWhoseOutputIsClosedLeavesNothingRunning() throws {
        var started = Set<pid_t>()
        let command = "\(JobHarness.trellis) bench meta --servers 2 --clients 2 --files 100 --bytes 0 --layouts shared unique | head -n 1"
        let outcome = try JobHarness.run(["/bin/sh", "-c", command], timeoutSeconds: 180) { child in
            _ = poll(until: .after(seconds: 150)) {
                started.formUnion(Self.descendants(of: child.pid))
                return !JobHarness.isAlive(child.pid)
            }
        }
        #expect(outcome.status == 0 && outcome.output.contains("\"op\":\"create\""), "\(outcome.combined)")
        #expect(outcome.errors.contains("its output was closed; stopping what it started"), "\(outcome.combined)")
        #expect(started.count >= 5, "the bench had started \(started)")
        Self.expectAllEnded(started)
    }

    /// Every one of `started` ends within 30 s; any left is named and killed.
    static func expectAllEnded(_ started: some Collection<pid_t>) {
        _ = poll(until: .after(seconds: 30)) { !started.contains(where: JobHarness.isAlive) }
        for pid in started {
            #expect(!JobHarness.isAlive(pid), "process \(pid) that the bench started outlived it: \((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "")")
            if JobHarness.isAlive(pid) { kill(pid, SIGKILL) }
        }
    }

    /// Every process below `pid`, from the kernel's lists of each thread's children.
    static func descendants(of pid: pid_t) -> [pid_t] {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        let children = threads.flatMap { thread in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { pid_t($0) }
        }
        return children + children.flatMap { descendants(of: $0) }
    }
}
