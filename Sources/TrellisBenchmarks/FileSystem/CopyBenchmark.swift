import ArgumentParser
import Foundation
import Glibc
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis bench cp`: what a user sees copying one large file into and
/// out of a file system with `trellis fs cp`, against `cp` then `sync` of
/// the same file to the local disk, in the same run. The source lies in
/// memory (/dev/shm by default) so that neither side waits on reading it;
/// every copy ends durable (the file system's close, fsync of the local
/// copy), as `sync` makes the baseline's.
public struct CopyBenchmark: ProgramBenchmark {
    /// The defaults: 512 MiB over 4 servers, with 1 and 4 chunks on their way.
    public init() {}

    @Option(help: "Servers of the file system it starts.") var servers = 4
    @Option(help: "MiB in the file copied.") var mib = 512
    @Option(help: "Folder for the source file (memory by default, so reading it costs no disk).") var sourceFolder = "/dev/shm"
    @Option(parsing: .upToNextOption, help: "trellis fs cp --in-flight values, each measured in turn.") var inFlight: [Int] = [1, 4]
    @Flag(help: "Print only the JSON lines.") var json = false
    @OptionGroup var data: BenchFolder

    public func validate() throws {
        guard mib > 0, servers > 0 else { throw ValidationError("--mib and --servers must be positive") }
        guard !inFlight.isEmpty, inFlight.allSatisfy({ $0 > 0 }) else { throw ValidationError("--in-flight takes positive counts") }
    }

    /// One copy, beside the baseline's rate.
    struct Record: BenchmarkRecord {
        /// `cp-in` (local file into the file system) or `cp-out` (back to the local disk).
        var bench: String
        var servers: Int
        var inFlight: Int
        var bytes: Int
        var seconds: Double
        var mibPerSecond: Double
        /// `cp` of the same source to the local disk, then `sync` of the copy.
        var cpSyncMibPerSecond: Double
        var ratioVsCpSync: Double
    }

    public func run(executable: String) throws {
        let site = try data.open("cp")
        defer { site.close() }
        try site.startNameService(executable: executable)
        progress("starting a file system of \(servers) servers")
        let system = try site.startFileSystem(name: "cp", servers: servers, subfolder: "fs", executable: executable)
        let bytes = mib << 20
        let source = sourceFolder + "/trellis-bench-cp-\(getpid()).dat"
        try Self.makeSource(at: source, bytes: bytes)
        defer { unlink(source) }
        let localCopy = site.folder + "/cp-local.dat"
        let copiedOut = site.folder + "/cp-out.dat"

        progress("cp + sync of \(mib) MiB to the local disk")
        let baseline = try timedSeconds {
            try Self.check(try CommandRunner.run(["cp", source, localCopy], timeoutSeconds: 1800), "cp \(source) \(localCopy)")
            try Self.check(try CommandRunner.run(["sync", localCopy], timeoutSeconds: 1800), "sync \(localCopy)")
        }
        unlink(localCopy)
        let baselineRate = Double(mib) / baseline
        var records: [Record] = []
        for window in inFlight {
            let fsCopy = [executable, "fs", "cp", "--name", system.name, "--in-flight", String(window)]
            progress("trellis fs cp in and out, \(window) in flight")
            let copyIn = try timedSeconds {
                try Self.check(try CommandRunner.run(fsCopy + [source, "fs:/copied.dat"], environment: ProcessEnvironment.current(), timeoutSeconds: 1800), "trellis fs cp into the file system")
            }
            let copyOut = try timedSeconds {
                try Self.check(try CommandRunner.run(fsCopy + ["fs:/copied.dat", copiedOut], environment: ProcessEnvironment.current(), timeoutSeconds: 1800), "trellis fs cp out of the file system")
            }
            guard try Self.sameBytes(source, copiedOut) else {
                throw BenchmarkFailure("the copy out of file system \(system.name) (\(copiedOut)) differs from \(source)")
            }
            unlink(copiedOut)
            for (bench, seconds) in [("cp-in", copyIn), ("cp-out", copyOut)] {
                let rate = Double(mib) / seconds
                let record = Record(
                    bench: bench, servers: servers, inFlight: window, bytes: bytes, seconds: rounded(seconds, 3), mibPerSecond: rounded(rate, 1),
                    cpSyncMibPerSecond: rounded(baselineRate, 1), ratioVsCpSync: rounded(rate / baselineRate, 3))
                record.printLine()
                records.append(record)
            }
        }
        if !json {
            var table = TextTable(["bench", "servers", "in flight", "MiB", "MiB/s", "cp + sync", "vs cp + sync"])
            for record in records {
                table.append([
                    record.bench, String(record.servers), String(record.inFlight), String(record.bytes >> 20), format(record.mibPerSecond, 1),
                    format(record.cpSyncMibPerSecond, 1), format(record.ratioVsCpSync, 2),
                ])
            }
            print("\n(trellis fs cp into and out of the file system, against cp then sync of the same file to the local disk)\n" + table.text)
        }
    }

    /// A file of `bytes` seeded random bytes.
    static func makeSource(at path: String, bytes: Int) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BenchmarkFailure("cannot make \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var generator = SeededGenerator(seed: 7)
        let block = (0..<(8 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        var written = 0
        while written < bytes {
            let length = min(block.count, bytes - written)
            // Each block shifted by its position, so no two blocks are alike.
            let shift = (written / block.count) % 97
            let rotated: [UInt8] = Array(block[shift...]) + Array(block[..<shift])
            let wrote = rotated.withUnsafeBytes { write(descriptor, $0.baseAddress, length) }
            guard wrote == length else {
                throw BenchmarkFailure("writing \(path) failed: \(String(cString: strerror(errno)))")
            }
            written += length
        }
    }

    /// Whether two files hold the same bytes.
    static func sameBytes(_ first: String, _ second: String) throws -> Bool {
        let one = open(first, O_RDONLY | O_CLOEXEC)
        let other = open(second, O_RDONLY | O_CLOEXEC)
        defer {
            if one >= 0 { close(one) }
            if other >= 0 { close(other) }
        }
        guard one >= 0, other >= 0 else { throw BenchmarkFailure("cannot open \(one < 0 ? first : second) to compare") }
        var left = [UInt8](repeating: 0, count: 4 << 20)
        var right = left
        while true {
            let got = read(one, &left, left.count)
            guard got >= 0, readFully(other, &right, got) == got else { return false }
            if got == 0 { return read(other, &right, 1) == 0 }
            if left.prefix(got) != right.prefix(got) { return false }
        }
    }

    private static func readFully(_ descriptor: Int32, _ buffer: inout [UInt8], _ count: Int) -> Int {
        var done = 0
        while done < count {
            let got = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + done, count - done) }
            if got <= 0 { break }
            done += got
        }
        return done
    }

    private static func check(_ outcome: CommandRunner.Outcome, _ what: String) throws {
        guard outcome.status == 0 else { throw BenchmarkFailure("\(what) failed (exit \(outcome.status)): \(outcome.errors.suffix(600))") }
    }

    private func progress(_ text: String) {
        BenchmarkOutput.progress("bench cp: \(text)")
    }
}
