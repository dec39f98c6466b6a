import Glibc
import ArgumentParser
import Foundation
import Synchronization
import TrellisCore
import TrellisFSClient
import TrellisFUSE

/// `trellis bench fuse`: the same work through a FUSE mount, through the
/// native client and on local disk, in one run.
public struct FuseBenchmark: ProgramBenchmark {
    /// A benchmark at the default settings (`trellis bench` sets them from its options).
    public init() {}

    @Option(help: "Servers of the file system it starts (unused with --mount).") var servers = 4
    @Option(help: "MiB written and read sequentially.") var mib = 1024
    @Option(help: "KiB per sequential read or write; --mib must be a whole number of blocks.") var blockKib = 1024
    @Option(help: "Random 4 KiB reads of the sequential file (0: none).") var randomReads = 4096
    @Option(help: "Empty files created, stat-ed and removed in one directory, then created and removed in a directory per thread.") var files = 3000
    @Option(help: "Runs of every phase; each rate printed is the median of its runs.") var trials = 3
    @Option(help: "Threads that share the create, stat and remove phases (mdtest's tasks), in every place.") var threads = 4
    @Option(help: "A Trellis mount to measure instead of starting a file system.") var mount: String?
    @Option(name: .customLong("mount-option"), help: "A -o option for the mount it starts (repeatable), e.g. page_cache.") var mountOptions: [String] = []
    @Option(help: "Also a file system with this many copies of everything (2 or 3), mounted and measured beside the first (places fuse-replicas, native-replicas).")
    var replicas = 1
    @OptionGroup var data: BenchFolder

    static let createsTarget = 1_500.0
    static let sequentialRatioTarget = 0.7

    /// Throws naming the setting that cannot be measured.
    public func validate() throws {
        guard mib > 0, blockKib > 0, randomReads >= 0, files > 0, servers > 0, trials > 0, threads > 0 else {
            throw ValidationError("--mib, --block-kib, --files, --trials, --threads and --servers must be positive")
        }
        guard (mib << 20) % (blockKib << 10) == 0 else { throw ValidationError("--mib must be a whole number of --block-kib blocks") }
        guard (1...min(3, servers)).contains(replicas) else { throw ValidationError("--replicas takes 1 to 3, and no more than --servers") }
        guard replicas == 1 || mount == nil else { throw ValidationError("--replicas starts file systems of its own, so it does not go with --mount") }
    }

    /// Runs every phase through the mount, the native client and local disk,
    /// taking turns, and prints a JSON line per phase with each place's median rate
    /// and the mount's rate over the other two, then a line saying whether the
    /// mount met its targets. Throws `BenchmarkFailure` for a path
    /// that is not a Trellis mount, or data that reads back wrong.
    public func run(executable: String) throws {
        let site = try data.open("fuse")
        defer { site.close() }
        let point: String
        if let mount {
            point = URL(fileURLWithPath: mount).standardizedFileURL.path
        } else {
            point = site.folder + "/mnt"
            progress("starting a file system of \(servers) servers, mounted on \(point)")
            try site.startNameService(executable: executable)
            _ = try site.startFileSystem(name: "fusebench", servers: servers, subfolder: "up", executable: executable, mountPoint: point, mountOptions: mountOptions)
        }
        guard let name = MountTable.fileSystemName(ofTrellisMount: point) else { throw BenchmarkFailure("\(point) is not a Trellis mount") }
        let client = try FileSystemClient.connect(name: name)
        defer { client.close() }

        let run = "bench-fuse-\(getpid())"
        let local = site.folder + "/" + run
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: point + "/" + run, withIntermediateDirectories: false)
        try client.makeDirectory("/" + run + "/native")
        site.onClose {
            try? FileManager.default.removeItem(atPath: point + "/" + run)
            try? FileManager.default.removeItem(atPath: local)
        }
        // A native client serves one thread at a time: each metadata worker gets its own, on one runtime.
        let siblings = (1..<threads).map { _ in client.sibling(credentials: client.credentials) }
        defer { siblings.forEach { $0.close() } }
        var places = [
            BenchPlace(name: "fuse", workers: Array(repeating: PosixFileWorkloads(folder: point + "/" + run), count: threads)),
            BenchPlace(name: "native", workers: ([client] + siblings).map { NativeFileWorkloads(client: $0, folder: "/" + run + "/native") }),
            BenchPlace(name: "local", workers: Array(repeating: PosixFileWorkloads(folder: local), count: threads)),
        ]
        var replicated: [FileSystemClient] = []
        defer { replicated.forEach { $0.close() } }
        if replicas > 1 {
            // The same workloads on a file system that keeps every object on `replicas` servers, in the same run.
            let copiesPoint = site.folder + "/mnt-replicas"
            progress("starting a file system of \(servers) servers with \(replicas) replicas, mounted on \(copiesPoint)")
            let system = try site.startFileSystem(
                name: "fusebench\(replicas)", servers: servers, subfolder: "up\(replicas)", executable: executable, replicas: replicas,
                mountPoint: copiesPoint, mountOptions: mountOptions)
            let copiesClient = try FileSystemClient.connect(name: system.name)
            replicated = [copiesClient] + (1..<threads).map { _ in copiesClient.sibling(credentials: copiesClient.credentials) }
            try FileManager.default.createDirectory(atPath: copiesPoint + "/" + run, withIntermediateDirectories: false)
            try copiesClient.makeDirectory("/" + run + "/native")
            places += [
                BenchPlace(name: "fuse-replicas", workers: Array(repeating: PosixFileWorkloads(folder: copiesPoint + "/" + run), count: threads)),
                BenchPlace(name: "native-replicas", workers: replicated.map { NativeFileWorkloads(client: $0, folder: "/" + run + "/native") }),
            ]
        }
        targets(try measure(places)).printLine()
    }

    /// One thing measured in every place: `count` bytes or operations from `threads` threads.
    private struct Phase {
        var name: String
        var count: Int
        var unit: FuseBenchRecord.Unit
        var threads = 1
    }

    /// Every phase `trials` times, the places taking turns within each run
    /// (so that the page cache's state and the machine's load fall alike on
    /// all three); each record holds the median rate of its runs.
    private func measure(_ places: [BenchPlace]) throws -> [FuseBenchRecord] {
        let total = mib << 20
        let blockBytes = blockKib << 10
        var generator = SeededGenerator(seed: 7)
        let block = (0..<blockBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let offsets = (0..<randomReads).map { _ in Int.random(in: 0..<(total / 4096), using: &generator) * 4096 }
        let seqWrite = Phase(name: "seq-write", count: total, unit: .bytes)
        let seqRead = Phase(name: "seq-read", count: total, unit: .bytes)
        let randomRead = Phase(name: "random-read-4k", count: randomReads, unit: .operations)
        let create = Phase(name: "create", count: files, unit: .operations, threads: threads)
        let stat = Phase(name: "stat", count: files, unit: .operations, threads: threads)
        let remove = Phase(name: "remove", count: files, unit: .operations, threads: threads)
        // The kernel holds a directory's lock through each create in it, so on any FUSE mount one
        // directory takes one create at a time; mdtest's unique-directory mode shows the rest.
        let createUnique = Phase(name: "create-unique", count: files, unit: .operations, threads: threads)
        let removeUnique = Phase(name: "remove-unique", count: files, unit: .operations, threads: threads)
        var samples: [String: [String: [Double]]] = [:]

        func sample(_ phase: Phase, _ place: BenchPlace, _ body: () throws -> Void) throws {
            let rate = Double(phase.count) / (try timedSeconds(body))
            samples[phase.name, default: [:]][place.name, default: []].append(rate)
            progress("  \(phase.name), \(place.name): " + (phase.unit == .bytes ? "\(format(rate / 1_048_576, 1)) MiB/s" : "\(format(rate, 1)) ops/s"))
        }
        for trial in 1...trials {
            for place in places {
                progress("run \(trial) of \(trials), \(place.name): sequential write and read of \(mib) MiB, \(randomReads) random 4 KiB reads")
                let work = place.workers[0]
                work.removeIfThere("seq")
                try sample(seqWrite, place) { try work.writeSequential("seq", block: block, total: total) }
                try sample(seqRead, place) {
                    guard try work.readSequential("seq", block: block, total: total) else {
                        throw BenchmarkFailure("\(place.name): the file read back differs from what was written")
                    }
                }
                if randomReads > 0 { try sample(randomRead, place) { try work.readRandom("seq", offsets: offsets, length: 4096) } }
            }
            let names = (0..<files).map { "run\(trial)-\($0)" }
            progress("run \(trial) of \(trials): create, stat and remove \(files) files in one directory from \(threads) threads")
            for place in places { try sample(create, place) { try place.inParallel(names) { try $0.createEmptyFiles($1) } } }
            for place in places { try sample(stat, place) { try place.inParallel(names) { try $0.statFiles($1) } } }
            for place in places { try sample(remove, place) { try place.inParallel(names) { try $0.removeFiles($1) } } }
            // Worker w takes every name whose index leaves w over `threads`: those in directory w.
            let directories = (0..<threads).map { "run\(trial)-dir\($0)" }
            let namesInDirectories = (0..<files).map { "\(directories[$0 % threads])/\($0)" }
            progress("run \(trial) of \(trials): create and remove \(files) files from \(threads) threads, each in a directory of its own")
            for place in places { try place.workers[0].makeDirectories(directories) }
            for place in places { try sample(createUnique, place) { try place.inParallel(namesInDirectories) { try $0.createEmptyFiles($1) } } }
            for place in places { try sample(removeUnique, place) { try place.inParallel(namesInDirectories) { try $0.removeFiles($1) } } }
            for place in places { try place.workers[0].removeDirectories(directories) }
        }
        for place in places { place.workers[0].removeIfThere("seq") }
        return [seqWrite, seqRead, randomRead, create, stat, remove, createUnique, removeUnique].compactMap { phase in
            guard let rates = samples[phase.name] else { return nil }
            let record = FuseBenchRecord(
                phase: phase.name, count: phase.count, unit: phase.unit, trials: trials, threads: phase.threads, rates: rates.mapValues(median))
            record.printLine()
            return record
        }
    }

    private func targets(_ records: [FuseBenchRecord]) -> FuseBenchTargets {
        func ratio(_ phase: String) -> Double { records.first { $0.bench == "fuse-" + phase }?.ratioVs["native"] ?? 0 }
        return FuseBenchTargets(
            writeRatioVsNative: ratio("seq-write"), readRatioVsNative: ratio("seq-read"),
            createsPerSecond: records.first { $0.bench == "fuse-create" }?.rates["fuse"] ?? 0)
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench fuse: \(text)")
    }
}

/// Where `bench fuse` works (the mount, the native client, local disk):
/// one set of workloads per thread.
struct BenchPlace {
    var name: String
    var workers: [any FileWorkloads]

    /// Runs `body` on every worker at once, each with its share of `names`.
    func inParallel(_ names: [String], _ body: @escaping @Sendable (any FileWorkloads, [String]) throws -> Void) throws {
        let workers = self.workers
        let shares = workers.indices.map { worker in stride(from: worker, to: names.count, by: workers.count).map { names[$0] } }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: workers.count) { worker in
            do {
                try body(workers[worker], shares[worker])
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        if let first = failures.withLock({ $0.first }) { throw BenchmarkFailure("\(name): \(first)") }
    }
}

/// One phase of `bench fuse`: each place's rate, and the mount's rate over
/// the others'.
struct FuseBenchRecord: BenchmarkRecord {
    enum Unit { case bytes, operations }
    /// `fuse-seq-write`, `fuse-create`, ...
    var bench: String
    /// What each place moved (byte phases) or did (operation phases).
    var bytes: Int?
    var operations: Int?
    var trials: Int
    var threads: Int
    /// Place (`fuse`, `native`, `local`) → median rate, for byte phases.
    var mibPerSecondByPlace: [String: Double]?
    /// Place → median rate, for operation phases.
    var operationsPerSecondByPlace: [String: Double]?
    /// Baseline place (`native`, `local`) → the mount's rate over its rate.
    var ratioVs: [String: Double]
    /// With `--replicas`: `fuse`, `native` → that place's rate with replicas over its rate with one copy.
    var replicasRatioVsOne: [String: Double]?

    /// `rates` are in bytes or operations per second.
    init(phase: String, count: Int, unit: Unit, trials: Int, threads: Int, rates: [String: Double]) {
        bench = "fuse-" + phase
        self.trials = trials
        self.threads = threads
        switch unit {
        case .bytes:
            bytes = count
            mibPerSecondByPlace = rates.mapValues { rounded($0 / 1_048_576, 1) }
        case .operations:
            operations = count
            operationsPerSecondByPlace = rates.mapValues { rounded($0, 1) }
        }
        var ratios: [String: Double] = [:]
        for baseline in ["native", "local"] {
            if let rate = rates["fuse"], let base = rates[baseline], base > 0 { ratios[baseline] = rounded(rate / base, 3) }
        }
        ratioVs = ratios
        var replicaRatios: [String: Double] = [:]
        for place in ["fuse", "native"] {
            if let rate = rates[place + "-replicas"], let base = rates[place], base > 0 { replicaRatios[place] = rounded(rate / base, 3) }
        }
        replicasRatioVsOne = replicaRatios.isEmpty ? nil : replicaRatios
    }

    /// Each place's rate, in this record's unit.
    var rates: [String: Double] { mibPerSecondByPlace ?? operationsPerSecondByPlace ?? [:] }
}

/// The mount's targets, and whether this run met them: sequential rates at
/// least `sequentialRatioTarget` of the native client's, and
/// `createsTarget` creates per second.
struct FuseBenchTargets: BenchmarkRecord {
    var bench = "fuse-targets"
    var writeRatioVsNative: Double
    var readRatioVsNative: Double
    var createsPerSecond: Double
    var ratioTarget = FuseBenchmark.sequentialRatioTarget
    var createsTarget = FuseBenchmark.createsTarget
    var met: Bool

    init(writeRatioVsNative: Double, readRatioVsNative: Double, createsPerSecond: Double) {
        self.writeRatioVsNative = writeRatioVsNative
        self.readRatioVsNative = readRatioVsNative
        self.createsPerSecond = createsPerSecond
        met = writeRatioVsNative >= ratioTarget && readRatioVsNative >= ratioTarget && createsPerSecond >= createsTarget
    }
}
