import Glibc
import ArgumentParser
import Foundation
import NIOCore
import TrellisFSClient
import TrellisFSProtocol

/// `trellis bench meta`: an mdtest-like metadata workload from several
/// client processes at once, in one shared directory and in a directory per
/// process, with empty files and with 3,901-byte ones (mdtest's -w 3901).
public struct MetadataBenchmark: ProgramBenchmark {
    /// A benchmark at the default settings (`trellis bench` sets them from its options).
    public init() {}

    @Option(help: "Servers of the file system it starts (unused with --name).") var servers = 4
    @Option(help: "Client processes, each a trellis bench meta-worker (1 to 256).") var clients = 4
    @Option(help: "Files per client process and phase.") var files = 1000
    @Option(parsing: .upToNextOption, help: "File sizes in bytes; the read phase runs for sizes above 0.") var bytes: [Int] = [0, 3901]
    @Option(parsing: .upToNextOption, help: "Directory layouts: shared (one for all clients), unique (one per client).")
    var layouts: [String] = ["shared", "unique"]
    @Option(
        parsing: .upToNextOption,
        help: "Replica counts: each starts a file system of its own, run one after another (2 or 3 acknowledge once every copy holds a change; 1 syncs to disk).")
    var replicas: [Int] = [1]
    @Option(help: "Use this running file system instead of starting one.") var name: String?
    @OptionGroup var data: BenchFolder

    /// Refuses client counts outside 1 to 256, no files or servers, replica counts outside 1 to 3 or above the servers, and layouts other than shared and unique.
    public func validate() throws {
        guard clients >= 1, clients <= 256, files >= 1, servers >= 1 else { throw ValidationError("--clients 1...256, --files and --servers positive") }
        guard !replicas.isEmpty, replicas.allSatisfy({ (1...min(3, servers)).contains($0) }) else {
            throw ValidationError("--replicas takes counts from 1 to 3, and no more than --servers")
        }
        guard name == nil || replicas == [1] else { throw ValidationError("--replicas starts file systems of its own, so it does not go with --name") }
        guard !layouts.isEmpty, layouts.allSatisfy(["shared", "unique"].contains) else { throw ValidationError("--layouts takes shared and unique") }
    }

    /// One phase in one layout and file size, from every client.
    struct Record: BenchmarkRecord {
        var bench = "meta"
        /// `create`, `stat`, `list`, `read` or `remove`.
        var op: String
        /// `shared` (one directory) or `unique` (one per client).
        var layout: String
        var bytes: Int
        /// Copies of every object in the file system measured.
        var replicas: Int
        /// `fsync` (1 copy) or `replicated`.
        var durability: String
        var clients: Int
        /// Files (entries, for list) the phase handled, all clients together.
        var files: Int
        var seconds: Double
        var operationsPerSecond: Double
        /// CPU the servers spent per operation, in µs (only for a file system the bench started).
        var serverCPUMicrosecondsPerOperation: Double?
    }

    /// Runs the create, stat, list, read and remove phases for every size and
    /// layout, each timed from the moment every client is told to start until the
    /// last is done, and prints a JSON line per phase with its operations per
    /// second (then a table on a terminal). Throws `BenchmarkFailure` for
    /// a client that fails or finds wrong data.
    public func run(executable: String) throws {
        // A running file system (--name) needs no folder of the benchmark's own.
        let site = name == nil ? try data.open("meta") : nil
        defer { site?.close() }
        var records: [Record] = []
        guard let site else {
            try measure(fileSystem: name!, executable: executable, into: &records)
            if isatty(STDOUT_FILENO) == 1 { printTable(records) }
            return
        }
        try site.startNameService(executable: executable)
        for count in replicas {
            // One file system at a time, so each has the machine to itself.
            let system = try site.startFileSystem(name: "meta\(count)", servers: servers, subfolder: "fs\(count)", executable: executable, replicas: count)
            try measure(fileSystem: system.name, executable: executable, site: site, servers: system.serverPIDs, into: &records)
            system.stop()
        }
        if isatty(STDOUT_FILENO) == 1 { printTable(records) }
    }

    /// Every phase, size and layout against `fileSystem`.
    /// The copies and durability each record names are the file system's own, as its servers tell them.
    private func measure(fileSystem: String, executable: String, site: BenchSite? = nil, servers: [pid_t] = [], into records: inout [Record]) throws {
        let fs = try FileSystemClient.connect(name: fileSystem)
        defer { fs.close() }
        let replicas = fs.configuration.replicas, durability = fs.configuration.durability
        let root = "/mdtest-\(getpid())"
        try fs.makeDirectory(root)
        let workers = try (0..<clients).map { try MetadataBenchWorkerProcess(executable: executable, fileSystem: fileSystem, client: $0, of: clients) }
        defer { for worker in workers { worker.finish() } }
        // A bench stopped by a signal ends its clients first, in the middle of their phase.
        site?.onClose { for worker in workers { worker.terminate() } }
        for size in bytes {
            for layout in layouts {
                let base = "\(root)/\(layout)-\(size)"
                try fs.makeDirectory(base)
                if layout == "unique" { for client in 0..<clients { try fs.makeDirectory("\(base)/client\(client)") } }
                for op in Self.phases where op != "read" || size > 0 {
                    let command = "\(op) \(layout) \(size) \(files) \(base)"
                    let total = op == "list" && layout == "shared" ? files * clients * clients : files * clients
                    progress("\(op), \(layout) directory, \(size)-byte files, \(replicas) replicas: \(total) \(op == "list" ? "entries" : "files") from \(clients) clients")
                    let cpuBefore = servers.isEmpty ? nil : ProcessCPUTime.seconds(of: servers)
                    let seconds = try timedSeconds { try MetadataBenchWorkerProcess.runPhase(command, on: workers) }
                    let cpu = cpuBefore.flatMap { before in ProcessCPUTime.seconds(of: servers).map { $0 - before } }
                    let record = Record(
                        op: op, layout: layout, bytes: size, replicas: replicas, durability: durability, clients: clients, files: total,
                        seconds: rounded(seconds, 4), operationsPerSecond: rounded(Double(total) / seconds, 1),
                        serverCPUMicrosecondsPerOperation: cpu.map { rounded($0 / Double(total) * 1e6, 1) })
                    record.printLine()
                    records.append(record)
                }
            }
        }
    }

    static let phases = ["create", "stat", "list", "read", "remove"]

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench meta: \(text)")
    }

    private func printTable(_ records: [Record]) {
        print("\nops/s with \(clients) client processes, \(files) files each (\(name ?? "\(servers) servers"))")
        var table = TextTable(["replicas", "durability", "layout", "bytes"] + Self.phases)
        for count in Set(records.map(\.replicas)).sorted() {
            for size in bytes {
                for layout in layouts {
                    let row = records.filter { $0.replicas == count && $0.layout == layout && $0.bytes == size }
                    table.append([String(count), row.first?.durability ?? "-", layout, String(size)] + Self.phases.map { op in
                        row.first { $0.op == op }.map { String(Int($0.operationsPerSecond)) } ?? "-"
                    })
                }
            }
        }
        print(table.text)
    }
}

/// One client process of `bench meta`, driven through its standard input
/// and output: it connects once, then runs each phase it is told, answering
/// "done" or "error ...".
final class MetadataBenchWorkerProcess {
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var pending = Data()

    init(executable: String, fileSystem: String, client: Int, of clients: Int) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["bench", "meta-worker", "--name", fileSystem, "--client", String(client), "--clients", String(clients)]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let greeting = try readLine()
        guard greeting == "ready" else { throw BenchmarkFailure("bench client \(client) did not start: \(greeting)") }
    }

    /// Tells every worker the phase at once, then waits for all of them.
    static func runPhase(_ command: String, on workers: [MetadataBenchWorkerProcess]) throws {
        for worker in workers { worker.input.fileHandleForWriting.write(Data((command + "\n").utf8)) }
        for (client, worker) in workers.enumerated() {
            let answer = try worker.readLine()
            guard answer == "done" else { throw BenchmarkFailure("bench client \(client), phase \(command): \(answer)") }
        }
    }

    private func readLine() throws -> String {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending = Data(pending[(newline + 1)...])
                return line
            }
            let more = output.fileHandleForReading.availableData
            guard !more.isEmpty else { throw BenchmarkFailure("a bench client process ended early") }
            pending.append(more)
        }
    }

    func finish() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// Ends it in the middle of a phase (the bench was stopped).
    func terminate() {
        if process.isRunning { process.terminate() }
    }
}

/// The worker side of `bench meta` (`trellis bench meta-worker`): one
/// client process, told each phase on its standard input.
public struct MetadataBenchmarkWorker {
    /// The file system to connect to.
    public let name: String
    /// This client's number, from 0, which its file names (and, in the unique layout, its
    /// directory) carry.
    public let client: Int
    /// How many clients there are: a shared directory's listing must hold all their files.
    public let clients: Int

    /// Client `client` of `clients`, on the file system `name`.
    public init(name: String, client: Int, of clients: Int) {
        self.name = name
        self.client = client
        self.clients = clients
    }

    /// Connects, prints `ready`, then runs each phase read from stdin and
    /// answers `done` or `error ...` on stdout, until stdin ends. Throws when it
    /// cannot connect.
    public func run() throws {
        let fs = try FileSystemClient.connect(name: name)
        defer { fs.close() }
        print("ready")
        fflush(nil)
        while let line = Swift.readLine() {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 5, let size = Int(parts[2]), let files = Int(parts[3]) else { break }
            do {
                try runPhase(parts[0], layout: parts[1], size: size, files: files, base: parts[4], fs)
                print("done")
            } catch {
                print("error \(error)")
            }
            fflush(nil)
        }
    }

    private func runPhase(_ op: String, layout: String, size: Int, files: Int, base: String, _ fs: FileSystemClient) throws {
        let directory = try fs.lookup(layout == "shared" ? base : "\(base)/client\(client)")
        let names = (0..<files).map { "f.\(client).\($0)" }
        let data = ByteBuffer(repeating: UInt8(truncatingIfNeeded: client), count: size)
        switch op {
        case "create":
            for name in names {
                let made = try fs.createFile(in: directory, named: name)
                guard size > 0 else { continue }
                let file = try fs.open(made, path: name, access: .write)
                try file.write(data, at: 0)
                try file.close()
            }
        case "stat":
            for name in names {
                let size = try fs.size(of: try fs.lookup(name, in: directory))
                guard size == UInt64(data.readableBytes) else { throw BenchmarkFailure("\(name) has \(size) bytes, not \(data.readableBytes)") }
            }
        case "read":
            for name in names {
                let file = try fs.open(try fs.lookup(name, in: directory), path: name, access: .read)
                guard try file.read(at: 0, length: UInt64(size)) == data else { throw BenchmarkFailure("\(name) read back wrong") }
                try file.close()
            }
        case "list":
            let expected = layout == "shared" ? Set((0..<clients).flatMap { other in (0..<files).map { "f.\(other).\($0)" } }) : Set(names)
            var seen = 0
            try fs.listWithAttributes(layout == "shared" ? base : "\(base)/client\(client)") { page in
                for entry in page {
                    guard expected.contains(entry.name), entry.attributes.kind == .file else { throw BenchmarkFailure("listing found \(entry.name), which no client made") }
                    seen += 1
                }
            }
            guard seen == expected.count else { throw BenchmarkFailure("listing found \(seen) entries, not \(expected.count)") }
        case "remove":
            for name in names { try fs.removeFile(named: name, in: directory.handle) }
        default:
            throw BenchmarkFailure("unknown phase \(op)")
        }
    }
}
