import Foundation
import TrellisCore
import TrellisHosts
import TrellisLauncher
import TrellisSystem

/// Rank 0's side of `trellis shell`: the script's state (directory,
/// environment, whether to stop at a failure) and each line turned into a
/// step for the hosts, its results printed as they come back.
struct ShellSession {
    let hosts: [String]
    /// Ranks that run commands (one per host of the shell).
    let hostRanks: [Int]
    var directory = JobLauncher.workingDirectory()
    var environment: [String: String] = [:]
    var stopOnFailure = true
    /// Print one JSON object per line instead of folded outputs.
    var json = false

    init(hosts: [String], hostRanks: [Int]) {
        self.hosts = hosts
        self.hostRanks = hostRanks
    }

    /// The ranks of the hosts a line names (all of the shell's without `@`).
    func ranks(_ selection: NodeSet?) throws -> [Int] {
        guard let selection else { return hostRanks }
        let names = Set(selection.names)
        let chosen = hostRanks.filter { names.contains(hosts[$0]) }
        let unknown = selection.names.filter { name in !hostRanks.contains { hosts[$0] == name } }
        guard unknown.isEmpty else { throw TrellisError(.invalidArgument, "not hosts of this shell: \(NodeSet(unknown).description)") }
        return chosen
    }

    mutating func run(lines next: () -> (number: Int, text: String)?, rank: ShellRank) throws -> Int32 {
        var worst: Int32 = 0
        while let (number, text) = next() {
            if ShellInterrupts.interrupted.load(ordering: .sequentiallyConsistent) {
                writeToStandardError("trellis shell: interrupted; stopping before line \(number)\n")
                return 130
            }
            let code: Int32
            do {
                guard let line = try ShellLine.parse(text) else { continue }
                code = try perform(line, number: number, text: text, rank: rank)
            } catch let error as TrellisError where error.code == .invalidArgument {
                writeToStandardError("trellis shell: line \(number): \(error.message)\n")
                code = 2
            }
            if ShellInterrupts.interrupted.load(ordering: .sequentiallyConsistent) {
                writeToStandardError("trellis shell: interrupted at line \(number): \(text)\n")
                return 130
            }
            guard code != 0 else { continue }
            worst = max(worst, code)
            if stopOnFailure {
                writeToStandardError("trellis shell: line \(number) failed (exit \(code)): \(text)\n"
                    + "trellis shell: stopping at the first failure (set +e goes on)\n")
                return code
            }
        }
        return worst
    }

    /// With --json: one object per line run (its hosts' outputs and exit codes for plain lines).
    private func record(number: Int, text: String, code: Int32, results: [HostResult]) {
        guard json else { return }
        let record = ShellLineRecord(
            line: number, text: text, exitCode: code,
            hosts: results.map { .init(host: $0.host, exitCode: $0.exitCode, output: String(decoding: $0.output, as: UTF8.self)) })
        if let data = try? JSONEncoder().encode(record) { writeAll(1, Array(data) + [UInt8(ascii: "\n")]) }
    }

    private mutating func perform(_ line: ShellLine, number: Int, text: String, rank: ShellRank) throws -> Int32 {
        switch line {
        case .changeDirectory(let path):
            directory = path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
            return 0
        case .export(let pairs):
            for (key, value) in pairs { environment[key] = value }
            return 0
        case .unset(let keys):
            for key in keys { environment[key] = nil }
            return 0
        case .stopOnFailure(let stop):
            stopOnFailure = stop
            return 0
        case .command(let text, let selection):
            let step = ShellStep(kind: .command, ranks: try ranks(selection), command: text, environment: environment, directory: directory)
            try rank.broadcast(step)
            let results = try rank.perform(step, hosts: hosts)
            let gathered = GatheredOutput(results)
            if json {
                record(number: number, text: text, code: gathered.exitCode, results: results)
            } else {
                writeAll(1, Array(gathered.text().utf8))
            }
            return gathered.exitCode
        case .run(let count, let program, let selection):
            let chosen = try ranks(selection).map { hosts[$0] }
            var environment = ProcessEnvironment.current()
            for (key, value) in self.environment { environment[key] = value }
            let arguments = [rank.trellisExecutable, "run", "-n", String(count), "--hosts", chosen.joined(separator: ",")] + rank.runFlags + program
            let script = "cd -- '\(directory.replacingOccurrences(of: "'", with: "'\\''"))' && exec \"$@\""
            let code = try LiveChild.run(["/bin/sh", "-c", script, "run"] + arguments, environment: environment).code
            record(number: number, text: text, code: code, results: [])
            return code
        case .stage(let words, let selection):
            var step = ShellStep(kind: .stage, ranks: try ranks(selection), environment: environment, directory: directory)
            step.stage = try ShellToolArguments.stage(words, directory: directory)
            return try runTool(step, number: number, text: text, rank: rank)
        case .sync(let words, let selection):
            var step = ShellStep(kind: .sync, ranks: try ranks(selection), environment: environment, directory: directory)
            step.sync = try ShellToolArguments.sync(words, directory: directory)
            return try runTool(step, number: number, text: text, rank: rank)
        }
    }

    /// A stage or sync line: every rank takes part; rank 0's result is the line's.
    private func runTool(_ step: ShellStep, number: Int, text: String, rank: ShellRank) throws -> Int32 {
        try rank.broadcast(step)
        let code = try rank.perform(step, hosts: hosts, quiet: json).first?.exitCode ?? 1
        record(number: number, text: text, code: code, results: [])
        return code
    }
}

/// The flags of `stage` and `sync` lines in a shell script (those of the commands, less the placement ones).
enum ShellToolArguments {
    static func stage(_ words: [String], directory: String) throws -> StageRequest {
        var sources: [String] = []
        var destination: String?
        var request = StageRequest(sources: [], destination: "")
        var index = 0
        while index < words.count {
            let word = words[index]
            switch word {
            case "--to":
                guard index + 1 < words.count else { throw TrellisError(.invalidArgument, "stage: --to needs a folder") }
                destination = words[index + 1]
                index += 1
            case "--preserve": request.preserve = true
            case "--verify": request.verify = true
            case "--keep-partial": request.keepPartial = true
            case "--compress": request.compress = true
            default:
                guard !word.hasPrefix("--") else { throw TrellisError(.invalidArgument, "stage: \(word) is not a flag of stage lines (--to, --preserve, --verify, --keep-partial, --compress)") }
                sources.append(absolute(word, in: directory))
            }
            index += 1
        }
        guard let destination, !sources.isEmpty else { throw TrellisError(.invalidArgument, "stage SOURCE... --to DIR") }
        request.sources = sources
        request.destination = absolute(destination, in: directory)
        return request
    }

    static func sync(_ words: [String], directory: String) throws -> SyncRequest {
        var source: String?
        var destination: String?
        var flags: Set<String> = []
        var index = 0
        while index < words.count {
            let word = words[index]
            if word == "--to" {
                guard index + 1 < words.count else { throw TrellisError(.invalidArgument, "sync: --to needs a folder") }
                destination = words[index + 1]
                index += 2
                continue
            }
            if ["--delete", "--checksum", "-X", "--xattrs", "--dry-run", "-n"].contains(word) {
                flags.insert(word)
            } else if word.hasPrefix("-") {
                throw TrellisError(.invalidArgument, "sync: \(word) is not a flag of sync lines (--to, --delete, --checksum, -X, --dry-run)")
            } else {
                guard source == nil else { throw TrellisError(.invalidArgument, "sync takes one source folder") }
                source = word
            }
            index += 1
        }
        guard let source, let destination else { throw TrellisError(.invalidArgument, "sync SOURCE --to DIR") }
        var request = SyncRequest(source: absolute(source, in: directory), destination: absolute(destination, in: directory))
        request.delete = flags.contains("--delete")
        request.checksum = flags.contains("--checksum")
        request.extendedAttributes = flags.contains("-X") || flags.contains("--xattrs")
        request.dryRun = flags.contains("--dry-run") || flags.contains("-n")
        return request
    }

    static func absolute(_ path: String, in directory: String) -> String {
        if path.hasPrefix("/") || path.hasPrefix("fs:") { return path }
        if path.hasPrefix("tar:") { return "tar:" + absolute(String(path.dropFirst(4)), in: directory) }
        return (directory as NSString).appendingPathComponent(path)
    }
}

/// `trellis shell --json`: one of these per line run.
struct ShellLineRecord: Codable {
    struct Host: Codable {
        var host: String
        var exitCode: Int32
        var output: String
    }

    var line: Int
    var text: String
    var exitCode: Int32
    var hosts: [Host]
}
