import Foundation
import Testing
import TrellisCore

/// Trellis under a real Slurm over three namespace hosts, each running a
/// slurmd: `srun --mpi=pmi2` of a Trellis program and of an MPICH one, a
/// batch script through `sbatch`, and `trellis run --launcher slurm`
/// inside `salloc`, whose proxies one srun step starts.
@Suite(.serialized, .enabled(if: TestSlurm.unavailable == nil, "\(TestSlurm.unavailable ?? "")"))
struct SlurmJobTests {
    @Test func trellisJobsRunUnderSrunSbatchAndSalloc() throws {
        let cluster = try TestHosts(count: 3)
        let slurm: TestSlurm
        do {
            slurm = try TestSlurm(on: cluster)
        } catch let unavailable as SlurmUnavailable {
            try Test.cancel("\(unavailable.reason)")
        }
        let collectives = JobHarness.binaries.appendingPathComponent("example-collectives").path
        let sums = "sum 15.0 over 6 ranks"

        let srun = try slurm.run(on: 0, ["srun", "-N", "3", "-n", "6", "--mpi=pmi2", collectives])
        #expect(srun.status == 0 && srun.output.components(separatedBy: sums).count == 7, "\(srun.combined)")
        let ring = try PMIClientJobTests.build(PMIClientJobTests.mpiRing, named: "ring", compiler: ["mpicc.mpich"])
        defer { try? FileManager.default.removeItem(atPath: (ring as NSString).deletingLastPathComponent) }
        let mpich = try slurm.run(on: 0, ["srun", "-N", "3", "-n", "6", "--mpi=pmi2", ring])
        #expect(mpich.status == 0 && mpich.output.contains("mpich ring: size 6 sum 15 token 15"), "\(mpich.combined)")

        let script = slurm.folder + "/job.sh"
        try "#!/bin/sh\nsrun --mpi=pmi2 \(collectives)\n".write(toFile: script, atomically: true, encoding: .utf8)
        let output = slurm.folder + "/job.out"
        let batch = try slurm.run(on: 0, ["sbatch", "--wait", "-N", "3", "-n", "6", "--output=\(output)", script])
        let written = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(batch.status == 0 && written.components(separatedBy: sums).count == 7, "\(batch.combined)\n\(written)")

        // trellis run's own proxies, started by one srun step, in a tree of fanout 1 (a chain).
        let inside = try slurm.run(on: 0, [
            "salloc", "-N", "3", "-n", "6", "--quiet", JobHarness.trellis, "run", "-n", "6", "--launcher", "slurm", "--fanout", "1", "--tag-output",
            "--report", collectives,
        ])
        #expect(inside.status == 0 && inside.output.components(separatedBy: sums).count == 7, "\(inside.combined)")
        for (index, host) in cluster.hosts.enumerated() {
            #expect(inside.errors.contains("\(host.name): ranks \(2 * index)-\(2 * index + 1) exited 0"), "\(inside.combined)")
        }
        let mpichInside = try slurm.run(on: 0, ["salloc", "-N", "3", "-n", "6", "--quiet", JobHarness.trellis, "run", "-n", "6", "--launcher", "slurm", ring])
        #expect(mpichInside.status == 0 && mpichInside.output.contains("mpich ring: size 6 sum 15 token 15"), "\(mpichInside.combined)")

        // Spawn inside the allocation: each spawned job's proxies are one more srun step,
        // beside the parents' (one rank per host, so one child per host).
        let spawned = try slurm.run(on: 0, ["salloc", "-N", "3", "-n", "3", "--quiet", JobHarness.trellis, "run", "-n", "3", "--launcher", "slurm", JobHarness.conformance, "spawn"])
        #expect(spawned.status == 0 && spawned.output.contains("SPAWNED from 3 ranks"), "\(spawned.combined)")
        for host in cluster.hosts {
            #expect(spawned.output.contains("of 3 on \(host.name)\n"), "\(spawned.combined)")
        }
    }
}
