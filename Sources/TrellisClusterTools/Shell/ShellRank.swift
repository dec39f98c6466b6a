import Glibc
import Foundation
import NIOCore
import Synchronization
import TrellisCore
import TrellisHosts
import TrellisLauncher
import TrellisRuntime
import TrellisSystem

/// One rank of `trellis shell` (MPISH, in "MPI for cluster system
/// software"): a job of one rank per host that stays up for the whole
/// script. Rank 0 reads the script and broadcasts each line as a step;
/// the hosts it names run it and their outputs and exit codes are gathered
/// back to rank 0, which prints them folded as `trellis exec` does and
/// stops at the first failure (unless `set +e`). `stage` and `sync` lines
/// run those tools on the shell's own ranks, with no new launch; `run -n`
/// starts an MPI program through the launcher, which serves it PMI.
public struct ShellRank {
    /// The shell's job: rank 0 reads the script, the others run on the shell's hosts.
    public let world: Communicator
    /// This rank's host name, which its outputs are shown under.
    public let hostName: String
    /// Whether rank 0's host is one of the shell's hosts (it runs commands too).
    public let sourceIsHost: Bool
    /// The launcher options for `run -n` lines: `trellis run` flags naming the shell's hosts.
    public var runFlags: [String] = []
    /// The `trellis` program that `run -n` lines start.
    public var trellisExecutable = "trellis"
    /// One JSON object per line instead of folded outputs and tool summaries.
    public var json = false
    /// Lines come from a terminal: a failing one does not end the shell.
    public var interactive = false

    /// This rank's part in a shell over `world`; no `run` flags, folded output, and
    /// a failing line ends the shell.
    public init(world: Communicator, hostName: String, sourceIsHost: Bool) {
        self.world = world
        self.hostName = hostName
        self.sourceIsHost = sourceIsHost
    }

    /// Rank 0: runs `lines` (a script, or what a prompt reads); returns the exit code.
    /// The other ranks: serve steps until the end; return 0.
    public func run(lines: (() -> (number: Int, text: String)?)?) throws -> Int32 {
        ShellInterrupts.install()
        let hosts = try world.allgather(ByteBuffer(string: hostName)).map { String(buffer: $0) }
        let hostRanks = hosts.indices.filter { $0 != 0 || sourceIsHost }
        if world.rank == 0, let lines {
            var session = ShellSession(hosts: hosts, hostRanks: hostRanks)
            session.json = json
            // At a prompt a failing line is reported and the next one read, as in an interactive sh.
            session.stopOnFailure = !interactive
            let code = try session.run(lines: lines, rank: self)
            try broadcast(ShellStep(kind: .end))
            return code
        }
        while true {
            let step = try JSONDecoder().decode(ShellStep.self, from: Data(world.broadcast(nil, root: 0).readableBytesView))
            if step.kind == .end { return 0 }
            _ = try perform(step, hosts: hosts)
        }
    }

    func broadcast(_ step: ShellStep) throws {
        _ = try world.broadcast(ByteBuffer(bytes: try JSONEncoder().encode(step)), root: 0)
    }

    /// Every rank's part in one step; at rank 0, each taking host's result.
    func perform(_ step: ShellStep, hosts: [String], quiet: Bool = false) throws -> [HostResult] {
        let takesPart = step.ranks.contains(world.rank)
        switch step.kind {
        case .command:
            var mine = ByteBuffer()
            if takesPart {
                let (code, output) = Self.runCommand(step)
                mine.writeInteger(code, endianness: .little)
                mine.writeBytes(output)
            } else {
                mine.writeInteger(Int32(-1), endianness: .little)
            }
            guard let all = try world.gather(mine, root: 0) else { return [] }
            return all.enumerated().compactMap { rank, buffer in
                var buffer = buffer
                guard let code = buffer.readInteger(endianness: .little, as: Int32.self), code >= 0 else { return nil }
                return HostResult(host: hosts[rank], output: Array(buffer.readableBytesView), end: .exited(code: code))
            }
        case .stage, .sync:
            let member = world.rank == 0 || takesPart
            guard let group = try world.split(color: member ? 1 : nil, key: world.rank) else { return [] }
            defer { group.free() }
            let show = world.rank == 0 && !quiet
            let reports = world.rank == 0
            var succeeded = true
            if var request = step.stage {
                request.sourceIsDestination = step.ranks.contains(0)
                var rank = StageRank(world: group, request: request, hostName: hosts[world.rank])
                if show { rank.observer = ToolEvents(tool: "stage", mode: .terminal(show: { StageReport.print($0, json: false) })) }
                succeeded = try rank.run()
            } else if var request = step.sync {
                request.sourceIsDestination = step.ranks.contains(0)
                var rank = SyncRank(world: group, request: request, hostName: hosts[world.rank])
                if show { rank.observer = ToolEvents(tool: "sync", mode: .terminal(show: { SyncReport.print($0, json: false) })) }
                succeeded = try rank.run()
            }
            return reports ? [HostResult(host: hosts[0], output: [], end: .exited(code: succeeded ? 0 : 1))] : []
        case .end:
            return []
        }
    }

    /// Runs one command line under /bin/sh in the step's directory and
    /// environment; Ctrl-C on the shell reaches it (`ShellInterrupts`).
    static func runCommand(_ step: ShellStep) -> (Int32, [UInt8]) {
        var environment = ProcessEnvironment.current()
        for (key, value) in step.environment { environment[key] = value }
        let script = step.directory.isEmpty ? step.command : "cd -- '\(step.directory.replacingOccurrences(of: "'", with: "'\\''"))' && \(step.command)"
        do {
            let outcome = try CommandRunner.run(["/bin/sh", "-c", script], environment: environment, timeoutSeconds: 365 * 86400) { child in
                ShellInterrupts.running.store(child.pid, ordering: .sequentiallyConsistent)
            }
            ShellInterrupts.running.store(0, ordering: .sequentiallyConsistent)
            let status = outcome.status
            return (status, Array(outcome.output.utf8) + Array(outcome.errors.utf8))
        } catch {
            return (127, Array("cannot run /bin/sh: \(error)\n".utf8))
        }
    }
}

/// Ctrl-C on the shell: the launcher passes SIGINT to every rank, and each
/// hands it on to the command it runs (its own process group), instead of
/// dying in the middle of the job; rank 0 stops the script after that step.
enum ShellInterrupts {
    static let running = Atomic<Int32>(0)
    static let interrupted = Atomic<Bool>(false)

    static func install() {
        signal(SIGINT) { _ in
            ShellInterrupts.interrupted.store(true, ordering: .sequentiallyConsistent)
            let pid = ShellInterrupts.running.load(ordering: .sequentiallyConsistent)
            if pid > 0 { killpg(pid, SIGINT) }
        }
    }
}
