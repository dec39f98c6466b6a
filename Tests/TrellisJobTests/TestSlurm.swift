import Foundation
import Testing
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// A real Slurm on test hosts: munged on a private socket, slurmctld on the
/// first host and a slurmd on every host, each under its host's name,
/// configured in a folder of the hosts' own (process tracking by
/// /proc, no task plugin, cgroups v1 named outright). Started as this
/// process's children and ended with it; the hosts' teardown removes the rest.
final class TestSlurm: @unchecked Sendable {
    let cluster: TestHosts
    let folder: String
    private var daemons: [pid_t] = []

    /// Why Slurm cannot run here (nil: it can).
    static let unavailable: String? = {
        if let reason = TestHosts.unavailable { return reason }
        for program in ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/srun"] where !FileManager.default.isExecutableFile(atPath: program) {
            return "Slurm needs \(program) (slurm-wlm, munge)"
        }
        return nil
    }()

    var environment: [String: String] { ["SLURM_CONF": folder + "/slurm.conf"] }

    init(on cluster: TestHosts) throws {
        self.cluster = cluster
        folder = cluster.folder + "/slurm"
        let names = cluster.hosts.map(\.name)
        let munge = folder + "/munge"
        try FileManager.default.createDirectory(atPath: munge, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/state", withIntermediateDirectories: true)
        for name in names { try FileManager.default.createDirectory(atPath: "\(folder)/spool-\(name)", withIntermediateDirectories: true) }
        chmod(munge, 0o700)
        var key = [UInt8](repeating: 0, count: 1024)
        for index in key.indices { key[index] = UInt8.random(in: 0...255) }
        FileManager.default.createFile(atPath: munge + "/munge.key", contents: Data(key), attributes: [.posixPermissions: 0o400])
        let conf = """
            ClusterName=trellistest
            SlurmctldHost=\(names[0])
            AuthType=auth/munge
            AuthInfo=socket=\(munge)/munge.socket
            CredType=cred/munge
            SlurmUser=root
            SlurmdUser=root
            StateSaveLocation=\(folder)/state
            SlurmdSpoolDir=\(folder)/spool-%n
            SlurmctldPidFile=\(folder)/slurmctld.pid
            SlurmdPidFile=\(folder)/slurmd-%n.pid
            SlurmctldLogFile=\(folder)/slurmctld.log
            SlurmdLogFile=\(folder)/slurmd-%n.log
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            MpiDefault=none
            ReturnToService=2
            SchedulerType=sched/builtin
            InactiveLimit=0
            KillWait=5
            MinJobAge=5
            NodeName=\(cluster.name)-h[0-\(names.count - 1)] CPUs=2 State=UNKNOWN
            PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP

            """
        try conf.write(toFile: folder + "/slurm.conf", atomically: true, encoding: .utf8)
        // Slurm 22.05 cannot go without a cgroup plugin even when nothing uses it; name the hierarchy this machine has.
        let version = FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") ? "v2" : "v1"
        try "CgroupPlugin=cgroup/\(version)\nCgroupMountpoint=/sys/fs/cgroup\nCgroupAutomount=no\n".write(toFile: folder + "/cgroup.conf", atomically: true, encoding: .utf8)
        do {
            daemons.append(try ProcessSpawner.spawn(
                arguments: ["/usr/sbin/munged", "-F", "--force", "--socket=\(munge)/munge.socket", "--key-file=\(munge)/munge.key",
                            "--pid-file=\(munge)/munged.pid", "--log-file=\(munge)/munged.log", "--seed-file=\(munge)/seed"],
                environment: ProcessEnvironment.current(), logPath: folder + "/munged.out"))
            guard poll(until: .after(seconds: 30), { FileManager.default.fileExists(atPath: munge + "/munge.socket") }) else {
                throw FixtureFailure(description: "munged did not start: \((try? String(contentsOfFile: folder + "/munged.out", encoding: .utf8)) ?? "")")
            }
            var environment = ProcessEnvironment.current()
            environment["SLURM_CONF"] = folder + "/slurm.conf"
            daemons.append(try ProcessSpawner.spawn(arguments: cluster.asUser(on: 0, ["/usr/sbin/slurmctld", "-D", "-f", folder + "/slurm.conf"]),
                                                    environment: environment, logPath: folder + "/slurmctld.out"))
            for index in names.indices {
                daemons.append(try ProcessSpawner.spawn(
                    arguments: cluster.asUser(on: index, ["/usr/sbin/slurmd", "-D", "-f", folder + "/slurm.conf", "-N", names[index]]), environment: environment,
                    logPath: "\(folder)/slurmd-\(index).out"))
            }
            var states = ""
            guard poll(until: .after(seconds: 90), intervalMicroseconds: 250_000, {
                states = (try? self.run(on: 0, ["sinfo", "-h", "-N", "-o", "%N %T"]).output) ?? ""
                return states.split(separator: "\n").filter { $0.hasSuffix(" idle") }.count == names.count
            }) else {
                // A slurmd that cannot initialize cgroups here is this machine's limit, not a fault of what is tested.
                let slurmd = ["\(folder)/slurmd-\(names[0]).log", "\(folder)/slurmd-0.out"]
                    .compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }.joined(separator: "\n")
                if let line = slurmd.split(separator: "\n").first(where: { $0.contains("cgroup") && $0.contains("error") }) {
                    throw SlurmUnavailable(reason: "slurmd cannot start on this machine: \(line)")
                }
                throw FixtureFailure(description: "Slurm's nodes did not come up: \(states)\n\((try? String(contentsOfFile: folder + "/slurmctld.log", encoding: .utf8)) ?? "")\n\(slurmd)")
            }
        } catch {
            tearDown()
            throw error
        }
    }

    /// Runs a Slurm client command (srun, sbatch, salloc, sinfo) on host `index` as a logged-in user would.
    func run(on index: Int, _ arguments: [String], timeoutSeconds: Double = 180) throws -> JobHarness.Outcome {
        try JobHarness.run(cluster.asUser(on: index, ["env", "SLURM_CONF=\(folder)/slurm.conf"] + arguments), timeoutSeconds: timeoutSeconds)
    }

    private func tearDown() {
        for pid in daemons.reversed() { kill(pid, SIGTERM) }
        for pid in daemons.reversed() {
            if !poll(until: .after(seconds: 10), { !JobHarness.isAlive(pid) }) { kill(pid, SIGKILL) }
            _ = ProcessSpawner.waitForExit(pid)
        }
        daemons = []
    }

    deinit { tearDown() }
}

/// Slurm's daemons cannot run on this machine (the test says why and is skipped).
struct SlurmUnavailable: Error {
    let reason: String
}
