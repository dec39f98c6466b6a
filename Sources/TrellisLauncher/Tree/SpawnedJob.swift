import Glibc
import TrellisCore
import TrellisWire
import TrellisSystem

/// A job that a rank asked for with MPI_Comm_spawn, as the launcher runs
/// it: one more `trellis run` beside this one, placed on this job's hosts
/// through the same bootstrap (ssh, Slurm or fork), as Hydra starts a
/// spawned process group with new proxies on the job's hosts.
///
/// It says on a pipe (`--ready-fd`) when its ranks have passed their
/// first PMI fence, which is when the spawning rank is answered; a job that
/// ends before that is a failed spawn, its exit status in the answer.
final class SpawnedJob {
    /// The rank whose spawn this is, and the programs it asked for.
    let rank: Int
    let programs: [PMISpawnProgram]
    let pid: pid_t
    /// The read end of the ready pipe, while open.
    private(set) var readyFD: Int32
    private(set) var answered = false
    var status: Int32?

    /// Starts the job. `plan` is the spawning job's: its hosts, slots, bootstrap and tree.
    init(rank: Int, programs: [PMISpawnProgram], plan: JobPlan) throws {
        self.rank = rank
        self.programs = programs
        let ready = try HostRanks.makePipe()
        defer { close(ready.write) }
        _ = fcntl(ready.read, F_SETFL, fcntl(ready.read, F_GETFL) | O_NONBLOCK)
        do {
            pid = try ProcessSpawner.spawn(
                arguments: Self.command(programs, plan: plan, readyDescriptor: 3),
                environment: ProcessEnvironment.current().filter { $0.key != "TRELLIS_PARENT_PORT" },
                descriptors: ChildDescriptors(standardInput: nil, standardOutput: 1, standardError: 2, inherited: [(ready.write, 3)]),
                processGroup: 0, diesWithParent: true)
        } catch {
            close(ready.read)
            throw error
        }
        readyFD = ready.read
    }

    /// What the spawned job's programs are, for messages.
    var summary: String {
        programs.map { "\($0.count) x \($0.command.joined(separator: " "))" }.joined(separator: " : ")
    }

    /// `trellis run` for `programs` on the hosts of `plan`: each host with as
    /// many slots as it runs ranks of the spawning job (a program's `host`
    /// hint, a node set, places it instead), the spawn's preput keys in the
    /// new job's store, `PMI_SPAWNED=1` and the `env` hints in its ranks' environment.
    static func command(_ programs: [PMISpawnProgram], plan: JobPlan, readyDescriptor: Int32) -> [String] {
        var arguments = [plan.bootstrap.trellisPath, "run", "--ready-fd", String(readyDescriptor)]
        let hinted = programs.lazy.flatMap { $0.infoValues("host") }.first
        if plan.tree.hostCount > 0 || hinted != nil {
            let hosts = hinted ?? plan.hosts.indices.map { "\(plan.hosts[$0]):\(max(1, plan.ranks(onHost: $0).count))" }.joined(separator: ",")
            arguments += ["--hosts", hosts, "--launcher", plan.bootstrap.kind.rawValue]
            arguments += [plan.bootstrap.kind == .slurm ? "--srun" : "--ssh", plan.bootstrap.sshCommand.joined(separator: " ")]
            arguments += ["--fanout", String(plan.tree.fanout), "--link-timeout", String(plan.linkTimeoutSeconds)]
        }
        var preput: [String: String] = [:]
        for program in programs { for entry in program.preput { preput[entry.key] = entry.value } }
        for (key, value) in preput.sorted(by: { $0.key < $1.key }) { arguments += ["--preput", "\(key)=\(value)"] }
        arguments += ["--env", "PMI_SPAWNED=1"]
        for program in programs { for setting in program.infoValues("env") { arguments += ["--env", setting] } }
        for (index, program) in programs.enumerated() {
            if index > 0 { arguments.append(":") }
            arguments += ["-n", String(program.count)] + program.command
        }
        return arguments
    }

    /// Reads the ready pipe; true when the job has just said it is up.
    func readReady() -> Bool {
        guard readyFD >= 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 64)
        let count = chunk.withUnsafeMutableBytes { read(readyFD, $0.baseAddress!, $0.count) }
        if count < 0 && (errno == EINTR || errno == EAGAIN) { return false }
        if count <= 0 {
            close(readyFD)
            readyFD = -1
            return false
        }
        guard !answered, chunk[..<count].contains(UInt8(ascii: "r")) else { return false }
        answered = true
        return true
    }

    /// The job ended: the answer its rank still waits for, if any: empty when
    /// the job came up and ended since the last poll, else why it never came up.
    func endedBeforeReady() -> String? {
        if readReady() { return "" }
        if readyFD >= 0 {
            close(readyFD)
            readyFD = -1
        }
        guard !answered, let status else { return nil }
        answered = true
        return "the spawned job (\(summary)) \(RankProcess.describe(status: status)) before its processes started"
    }

    func signal(_ number: Int32) {
        guard status == nil else { return }
        kill(pid, number)
    }
}
