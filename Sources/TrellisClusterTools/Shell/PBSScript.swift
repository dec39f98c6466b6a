import Foundation
import TrellisCore
import TrellisSystem

/// A PBS (Torque, OpenPBS) batch script, run unchanged as MPISH's PBS
/// compatibility mode ran it: its `#PBS` directives give the node count,
/// processes per node, name and time limit; the script then runs on the
/// first host with the variables a PBS job sees (PBS_NODEFILE, PBS_JOBID,
/// PBS_O_WORKDIR, ...), and `mpiexec`, `mpirun` and `pbsdsh` in it start
/// through Trellis over the job's hosts.
public struct PBSScript: Sendable, Equatable {
    /// The node count from `#PBS -l nodes=N` (or `select=N`); 1 when the script gives none.
    public var nodes = 1
    /// Processes per node from `ppn=`, `ncpus=` or `mpiprocs=`; 1 when the script gives none.
    public var processesPerNode = 1
    /// The job's name (`PBS_JOBNAME`): `#PBS -N`'s, else the script's file name.
    public var name = "STDIN"
    /// The time limit from `#PBS -l walltime=HH:MM:SS`, in seconds; nil when none is given.
    public var wallSeconds: Double?
    /// The script's text, unchanged.
    public var text: String

    /// Reads the `#PBS` directives, which end at the first command line, as qsub
    /// reads them; directives it has no use for are ignored. Throws `TrellisError`
    /// (`.invalidArgument`) for a node count, process count or walltime it cannot read.
    public init(text: String, scriptName: String) throws {
        self.text = text
        name = (scriptName as NSString).lastPathComponent
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.hasPrefix("#") && !trimmed.isEmpty { break }  // directives end at the first command, as qsub reads them
            guard trimmed.hasPrefix("#PBS") else { continue }
            var words = trimmed.dropFirst(4).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            while !words.isEmpty {
                let flag = words.removeFirst()
                guard flag.hasPrefix("-"), !words.isEmpty else { continue }
                let value = words.removeFirst()
                switch flag {
                case "-N": name = value
                case "-l": try resources(value)
                default: break  // -q, -j, -o, -e, -m, -M, -A, -V: nothing here to honour or refuse
                }
            }
        }
    }

    /// `nodes=4:ppn=2,walltime=01:00:00` (also `select=4:ncpus=2` as PBS Pro writes it).
    private mutating func resources(_ list: String) throws {
        for item in list.split(separator: ",") {
            // walltime=HH:MM:SS keeps its colons; nodes=4:ppn=2 splits at them.
            let parts = item.hasPrefix("walltime=") ? [item] : item.split(separator: ":")
            for part in parts {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                guard pair.count == 2 else { continue }
                switch pair[0] {
                case "nodes", "select":
                    guard let count = Int(pair[1]), count >= 1 else { throw TrellisError(.invalidArgument, "#PBS -l \(pair[0])=\(pair[1]): a node count, 1 or more") }
                    nodes = count
                case "ppn", "ncpus", "mpiprocs":
                    guard let count = Int(pair[1]), count >= 1 else { throw TrellisError(.invalidArgument, "#PBS -l \(pair[0])=\(pair[1]): a count, 1 or more") }
                    processesPerNode = count
                case "walltime":
                    let fields = pair[1].split(separator: ":").compactMap { Double($0) }
                    guard !fields.isEmpty, fields.count <= 3, fields.reduce(0, { $0 * 60 + $1 }) > 0 else { throw TrellisError(.invalidArgument, "#PBS -l walltime=\(pair[1]): HH:MM:SS") }
                    wallSeconds = fields.reduce(0) { $0 * 60 + $1 }
                default:
                    break
                }
            }
        }
    }

    /// The nodefile's lines: each host once per process on it, as Torque writes it.
    public func nodefile(hosts: [String]) -> String {
        hosts.prefix(nodes).flatMap { Array(repeating: $0, count: processesPerNode) }.map { $0 + "\n" }.joined()
    }

    /// What a PBS job sees in its environment.
    public func environment(nodefile: String, jobID: String, workingDirectory: String, submitHost: String) -> [String: String] {
        [
            "PBS_NODEFILE": nodefile, "PBS_JOBID": jobID, "PBS_JOBNAME": name, "PBS_O_WORKDIR": workingDirectory,
            "PBS_O_HOST": submitHost, "PBS_O_PATH": ProcessEnvironment.value("PATH") ?? "/usr/bin:/bin", "PBS_QUEUE": "trellis",
            "PBS_O_QUEUE": "trellis", "PBS_ENVIRONMENT": "PBS_BATCH", "PBS_NUM_NODES": String(nodes), "PBS_NUM_PPN": String(processesPerNode),
            "PBS_NP": String(nodes * processesPerNode), "PBS_TASKNUM": "1", "PBS_NODENUM": "0", "PBS_VNODENUM": "0",
            "PBS_WALLTIME": wallSeconds.map { String(Int($0)) } ?? "",
        ]
    }
}
