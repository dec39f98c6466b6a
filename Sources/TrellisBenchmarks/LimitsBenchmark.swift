import Glibc
import ArgumentParser
import Foundation
import NIOCore
import TrellisCore
import TrellisLauncher
import TrellisRuntime
import TrellisSystem

/// One figure of `trellis bench limits`.
public struct LimitRecord: BenchmarkRecord, Equatable {
    /// Always `limits`.
    public var bench = "limits"
    /// `communicators`, `posted-receives`, `windows`, `datatypes`,
    /// `concurrent-clients` or `connect-disconnect-cycles`.
    public var check: String
    /// How many objects the check made (clients held, for `concurrent-clients`; cycles, for
    /// `connect-disconnect-cycles`).
    public var count: Int
    /// Wall time, in seconds: of making the objects (communicators, windows,
    /// datatypes), or of the whole check (receives, connections).
    public var seconds: Double
    /// The resident size of the process that held the objects, before and after.
    public var residentMibBefore: Double
    /// The resident size, in MiB, with every object alive (for the cycles, after the last one).
    public var residentMibAfter: Double
    /// Whether the check passed: the last object still worked, every receive was
    /// matched, or every client answered; for the cycles, also that the resident
    /// size stayed flat and nothing was left pending.
    public var ok: Bool
    /// What was checked, in words.
    public var detail: String

    /// A figure, rounded: seconds to 4 decimals, sizes to 2.
    public init(check: String, count: Int, seconds: Double, residentMibBefore: Double, residentMibAfter: Double, ok: Bool, detail: String) {
        self.check = check
        self.count = count
        self.seconds = rounded(seconds, 4)
        self.residentMibBefore = rounded(residentMibBefore, 2)
        self.residentMibAfter = rounded(residentMibAfter, 2)
        self.ok = ok
        self.detail = detail
    }
}

/// Table 3 of the MPI storage-transport paper (the paper on MPI as the
/// transport of a replicated, striped storage service) against Trellis:
/// objects a server needs by the million, bounded by memory only (MPICH
/// stops at 2,045 communicators and crashes after 262,152 pending receives).
///
/// Each check runs in a process of its own (`trellis bench limits --role
/// ...`), so that the resident size it reports is its own: the local checks
/// one process each, the connection checks a server and a client process.
public struct LimitsBenchmark: ProgramBenchmark {
    @Option(help: "Communicators to duplicate.") var communicators = 1_000_000
    @Option(help: "Receives to post at once.") var receives = 1_000_000
    @Option(help: "One-sided windows to create.") var windows = 1_000_000
    @Option(help: "Hindexed datatypes to create.") var datatypes = 3_000_000
    @Option(help: "Client connections a server holds at once.") var clients = 2_000
    @Option(help: "Connect / disconnect cycles.") var cycles = 10_000
    @Option(help: ArgumentHelp(visibility: .private)) var role: String?
    @Option(help: ArgumentHelp(visibility: .private)) var portFile: String?

    /// Every check at its default count (a count of 0 skips its check).
    public init() {}

    /// Runs every check whose count is above 0 and prints a JSON line each;
    /// throws `BenchmarkFailure` naming the checks that failed. With `--role`,
    /// it is one of the processes a check runs in.
    public func run(executable: String) throws {
        switch role {
        case "server":
            for record in try Self.serve(clients: clients, cycles: cycles, portFile: portFile ?? "") { record.printLine() }
            return
        case "clients":
            try Self.drive(clients: clients, cycles: cycles, portFile: portFile ?? "")
            return
        default:
            break
        }
        var records: [LimitRecord] = []
        let local: [(option: String, count: Int, check: (Int) throws -> LimitRecord)] = [
            ("--communicators", communicators, Self.communicators), ("--receives", receives, Self.postedReceives),
            ("--windows", windows, Self.windows), ("--datatypes", datatypes, Self.datatypes),
        ]
        for (option, count, check) in local where count > 0 {
            let record = role == "local" ? try check(count) : try runLocalCheck(option, count, executable: executable)
            record.printLine()
            records.append(record)
        }
        if role == "local" { return }
        for record in clients + cycles > 0 ? try runConnectionChecks(executable: executable) : [] {
            record.printLine()
            records.append(record)
        }
        let failed = records.filter { !$0.ok }.map(\.check)
        if !failed.isEmpty { throw BenchmarkFailure("checks failed: \(failed.joined(separator: ", "))") }
    }

    /// Options of `trellis bench limits` that run one check alone: every count 0 but `option`'s.
    public static func arguments(onlyChecking option: String, _ count: Int) -> [String] {
        ["--communicators", "--receives", "--windows", "--datatypes", "--clients", "--cycles"].flatMap { [$0, $0 == option ? String(count) : "0"] }
    }

    private func runLocalCheck(_ option: String, _ count: Int, executable: String) throws -> LimitRecord {
        let outcome = try CommandRunner.run(
            [executable, "bench", "limits", "--role", "local"] + Self.arguments(onlyChecking: option, count),
            environment: ProcessEnvironment.current(), timeoutSeconds: 1800)
        guard outcome.status == 0, let line = outcome.output.split(separator: "\n").last,
            let record = LimitRecord.parse(line)
        else { throw BenchmarkFailure("the \(option.dropFirst(2)) check failed: \(outcome.combined)") }
        return record
    }

    /// Server and clients as two processes, so the server's size is its own.
    private func runConnectionChecks(executable: String) throws -> [LimitRecord] {
        let portFile = NSTemporaryDirectory() + "trellis-limits-\(getpid()).port"
        defer { unlink(portFile) }
        let common = ["--clients", String(clients), "--cycles", String(cycles), "--port-file", portFile]
        let environment = ProcessEnvironment.current()
        let server = try CommandRunner.run([executable, "bench", "limits", "--role", "server"] + common, environment: environment, timeoutSeconds: 1800) { _ in
            let clientsOutcome = try? CommandRunner.run(
                [executable, "bench", "limits", "--role", "clients"] + common, environment: environment, timeoutSeconds: 1800)
            if let clientsOutcome, clientsOutcome.status != 0 {
                writeToStandardError("limits clients failed: \(clientsOutcome.errors)\n")
            }
        }
        guard server.status == 0 else { throw BenchmarkFailure("the limits server failed: \(server.errors)") }
        return LimitRecord.parseLines(server.output)
    }

    /// Resident set size of a process, in MiB.
    public static func residentMiB(of pid: pid_t = getpid()) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1024
    }

    /// `count` duplicates of a communicator, all alive at once, then freed.
    public static func communicators(count: Int) throws -> LimitRecord {
        let runtime = try Runtime.initialize(asSingleton: true)
        defer { try? runtime.finalize() }
        let before = residentMiB()
        let start = MonotonicClock.nanoseconds()
        var made: [Communicator] = []
        made.reserveCapacity(count)
        for _ in 0..<count { made.append(try runtime.world.duplicate()) }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        let after = residentMiB()
        // The last one works like the first.
        let sum = try made[made.count - 1].allreduce([Int64(3)], .sum)
        for communicator in made { communicator.free() }
        return LimitRecord(
            check: "communicators", count: count, seconds: seconds, residentMibBefore: before, residentMibAfter: after, ok: sum == [3],
            detail: "\(count) duplicates alive at once; the last one reduced correctly")
    }

    /// `count` receives posted at once, then all matched by messages.
    public static func postedReceives(count: Int) throws -> LimitRecord {
        let runtime = try Runtime.initialize(asSingleton: true)
        defer { try? runtime.finalize() }
        let world = runtime.world
        let before = residentMiB()
        let start = MonotonicClock.nanoseconds()
        var pending: [Request<Message>] = []
        pending.reserveCapacity(count)
        for _ in 0..<count { pending.append(try world.ireceive(from: .rank(0), tag: .tag(1))) }
        let posted = runtime.statistics.postedReceives
        let after = residentMiB()
        for index in 0..<count { try world.send([Int64(index)], to: 0, tag: 1) }
        try waitAll(pending, deadline: .after(seconds: 600))
        let last = try pending[count - 1].wait().values(of: Int64.self)
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        return LimitRecord(
            check: "posted-receives", count: count, seconds: seconds, residentMibBefore: before, residentMibAfter: after,
            ok: posted == count && last == [Int64(count - 1)],
            detail: "\(posted) receives pending at once, then matched in order")
    }
}

extension LimitsBenchmark {
    /// The server of the connection checks: holds `clients` connections at
    /// once, then serves `cycles` connect / disconnect cycles, reporting its
    /// resident size around both.
    public static func serve(clients: Int, cycles: Int, portFile: String) throws -> [LimitRecord] {
        let runtime = try Runtime.initialize(asSingleton: true)
        defer { try? runtime.finalize() }
        let port = runtime.openPort()
        try port.name.description.write(toFile: portFile, atomically: true, encoding: .utf8)
        var records: [LimitRecord] = []

        let before = residentMiB()
        var start = MonotonicClock.nanoseconds()
        var held: [Communicator] = []
        for _ in 0..<clients { held.append(try runtime.selfCommunicator.accept(port, deadline: .after(seconds: 300))) }
        var heard = 0
        for client in held {
            _ = try client.receive(from: .rank(0), tag: .tag(1), deadline: .after(seconds: 120))
            heard += 1
        }
        let holding = residentMiB()
        for client in held { try client.send([Int64(1)], to: 0, tag: 2, deadline: .after(seconds: 60)) }
        for client in held { try client.disconnect(deadline: .after(seconds: 60)) }
        held.removeAll()
        records.append(LimitRecord(
            check: "concurrent-clients", count: clients, seconds: Double(MonotonicClock.nanoseconds() - start) / 1e9,
            residentMibBefore: before, residentMibAfter: holding, ok: heard == clients,
            detail: "\(clients) client connections held at once by one server, each answered"))

        // Warm up first, so that what the allocator keeps for itself is not counted as growth.
        let warmup = min(500, cycles / 10)
        var cyclesBefore = 0.0
        start = MonotonicClock.nanoseconds()
        for cycle in 0..<cycles {
            if cycle == warmup { cyclesBefore = residentMiB() }
            let client = try runtime.selfCommunicator.accept(port, deadline: .after(seconds: 120))
            _ = try client.receive(from: .rank(0), tag: .tag(1), deadline: .after(seconds: 60))
            try client.disconnect(deadline: .after(seconds: 60))
        }
        let cyclesAfter = residentMiB()
        let statistics = runtime.statistics
        let flat = cyclesAfter - cyclesBefore < max(8, cyclesBefore * 0.1)
        records.append(LimitRecord(
            check: "connect-disconnect-cycles", count: cycles, seconds: Double(MonotonicClock.nanoseconds() - start) / 1e9,
            residentMibBefore: cyclesBefore, residentMibAfter: cyclesAfter,
            ok: flat && statistics.postedReceives == 0 && statistics.unexpectedMessages == 0,
            detail: "resident size after \(warmup) warm-up cycles and after all; \(statistics.postedReceives) receives and \(statistics.unexpectedMessages) messages left"))
        port.close()
        return records
    }

    /// The clients: `clients` runtimes in this process connect and hold,
    /// then one runtime connects and disconnects `cycles` times.
    public static func drive(clients: Int, cycles: Int, portFile: String) throws {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        guard let portName = waitForFileContents(portFile, deadline: .after(seconds: 60)) else { throw TrellisError(.timedOut, "the limits server did not write \(portFile)") }
        var quiet = RuntimeLimits()
        quiet.asynchronousProgress = false  // thousands of runtimes, no thread each
        var runtimes: [Runtime] = []
        var connections: [Communicator] = []
        for index in 0..<clients {
            let runtime = try Runtime.initialize(limits: quiet, asSingleton: true)
            let server = try runtime.selfCommunicator.connect(to: portName, deadline: .after(seconds: 120))
            try server.send([Int64(index)], to: 0, tag: 1, deadline: .after(seconds: 60))
            runtimes.append(runtime)
            connections.append(server)
        }
        for server in connections {
            _ = try server.receive(from: .rank(0), tag: .tag(2), deadline: .after(seconds: 120))
            try server.disconnect(deadline: .after(seconds: 60))
        }
        for runtime in runtimes { try runtime.finalize() }
        runtimes.removeAll()
        connections.removeAll()

        let runtime = try Runtime.initialize(asSingleton: true)
        for cycle in 0..<cycles {
            let server = try runtime.selfCommunicator.connect(to: portName, deadline: .after(seconds: 120))
            try server.send([Int64(cycle)], to: 0, tag: 1, deadline: .after(seconds: 60))
            try server.disconnect(deadline: .after(seconds: 60))
        }
        try runtime.finalize()
    }

    /// `count` windows of 64 bytes, all alive at once, then freed (the MPI
    /// storage-transport paper needs one per client I/O stream, a million
    /// for a million clients).
    public static func windows(count: Int) throws -> LimitRecord {
        let runtime = try Runtime.initialize(asSingleton: true)
        defer { try? runtime.finalize() }
        let before = residentMiB()
        let start = MonotonicClock.nanoseconds()
        var made: [Window] = []
        made.reserveCapacity(count)
        for _ in 0..<count { made.append(try runtime.world.createWindow(byteCount: 64)) }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        let after = residentMiB()
        // The last one works like the first.
        let last = made[made.count - 1]
        try last.lock(.exclusive, rank: 0)
        try last.put(ByteBuffer(string: "last window"), to: 0, offset: 8)
        let read = try last.get(byteCount: 11, from: 0, offset: 8)
        try last.unlock(rank: 0)
        let text = String(buffer: try read.wait())
        for window in made { window.free() }
        return LimitRecord(
            check: "windows", count: count, seconds: seconds, residentMibBefore: before, residentMibAfter: after, ok: text == "last window",
            detail: "\(count) windows alive at once; the last one took a lock, a put and a get")
    }

    /// `count` hindexed datatypes (two blocks each, all different), alive at
    /// once; the MPI storage-transport paper needs three per I/O.
    public static func datatypes(count: Int) throws -> LimitRecord {
        let before = residentMiB()
        let start = MonotonicClock.nanoseconds()
        var made: [Datatype] = []
        made.reserveCapacity(count)
        for index in 0..<count {
            made.append(try Datatype.indexed([(offset: index % 4096, length: 8), (offset: 8192 + index % 1024, length: 16)]))
        }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        let after = residentMiB()
        let memory = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) }
        let last = made[made.count - 1]
        let packed = try last.pack(from: memory)
        var copy = [UInt8](repeating: 0, count: memory.count)
        try last.unpack(packed, into: &copy)
        let ok = packed.readableBytes == 24 && last.blocks.allSatisfy { copy[$0.offset..<$0.offset + $0.length] == memory[$0.offset..<$0.offset + $0.length] }
        return LimitRecord(
            check: "datatypes", count: count, seconds: seconds, residentMibBefore: before, residentMibAfter: after, ok: ok,
            detail: "\(count) hindexed datatypes alive at once; the last one packed and unpacked correctly")
    }
}
