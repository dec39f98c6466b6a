import Foundation
import Testing
import TrellisLauncher

/// `trellis run` under real PMI clients: MPICH's (PMI-1, as Debian's MPICH
/// 4.0 speaks it) and Slurm's libpmi2 (PMI-2), each in a C program built
/// here, 4 ranks exchanging through the key-value store and MPI.
@Suite(.serialized) struct PMIClientJobTests {
    static let mpiRing = """
        #include <mpi.h>
        #include <stdio.h>
        int main(int argc, char **argv) {
            MPI_Init(&argc, &argv);
            int rank, size, sum = 0, token = 0;
            MPI_Comm_rank(MPI_COMM_WORLD, &rank);
            MPI_Comm_size(MPI_COMM_WORLD, &size);
            MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
            if (rank == 0) {
                MPI_Send(&token, 1, MPI_INT, 1 % size, 0, MPI_COMM_WORLD);
                MPI_Recv(&token, 1, MPI_INT, size - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                printf("mpich ring: size %d sum %d token %d\\n", size, sum, token);
            } else {
                MPI_Recv(&token, 1, MPI_INT, rank - 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                token += rank;
                MPI_Send(&token, 1, MPI_INT, (rank + 1) % size, 0, MPI_COMM_WORLD);
            }
            MPI_Finalize();
            return 0;
        }
        """

    static let pmi2Exchange = """
        #include <slurm/pmi2.h>
        #include <stdio.h>
        int main(void) {
            int spawned, size, rank, appnum, length = 0, found = 0;
            char jobid[256], key[64], value[256], mapping[256];
            if (PMI2_Init(&spawned, &size, &rank, &appnum) != PMI2_SUCCESS) return 10;
            if (PMI2_Job_GetId(jobid, sizeof jobid) != PMI2_SUCCESS) return 11;
            snprintf(key, sizeof key, "card-%d", rank);
            snprintf(value, sizeof value, "rank %d; with = and spaces", rank);
            if (PMI2_KVS_Put(key, value) != PMI2_SUCCESS) return 12;
            if (PMI2_KVS_Fence() != PMI2_SUCCESS) return 13;
            snprintf(key, sizeof key, "card-%d", (rank + 1) % size);
            if (PMI2_KVS_Get(jobid, (rank + 1) % size, key, value, sizeof value, &length) != PMI2_SUCCESS) return 14;
            if (PMI2_Info_GetJobAttr("PMI_process_mapping", mapping, sizeof mapping, &found) != PMI2_SUCCESS || !found) return 15;
            printf("pmi2 rank %d of %d (appnum %d) read [%s] mapping %s\\n", rank, size, appnum, value, mapping);
            if (PMI2_Finalize() != PMI2_SUCCESS) return 16;
            return 0;
        }
        """

    /// Builds `source` with `compiler` in a fresh folder; the executable's path.
    static func build(_ source: String, named name: String, compiler: [String], libraries: [String] = []) throws -> String {
        let folder = NSTemporaryDirectory() + "trellis-pmi-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try source.write(toFile: "\(folder)/\(name).c", atomically: true, encoding: .utf8)
        let compile = try JobHarness.run(compiler + ["-O1", "-o", "\(folder)/\(name)", "\(folder)/\(name).c"] + libraries, timeoutSeconds: 300)
        guard compile.status == 0 else { throw FixtureFailure(description: "\(compiler[0]) could not build \(name): \(compile.combined)") }
        return "\(folder)/\(name)"
    }

    @Test func anMPICHProgramRunsOverPMI1() throws {
        let program = try Self.build(Self.mpiRing, named: "ring", compiler: ["mpicc.mpich"])
        defer { try? FileManager.default.removeItem(atPath: (program as NSString).deletingLastPathComponent) }
        let run = try JobHarness.run([JobHarness.trellis, "run", "-n", "4", program], timeoutSeconds: 120)
        #expect(run.status == 0 && run.output.contains("mpich ring: size 4 sum 6 token 6"), "\(run.combined)")
    }

    @Test func slurmsPMI2ClientBootstrapsAndExchanges() throws {
        let program = try Self.build(Self.pmi2Exchange, named: "pmi2", compiler: ["cc"], libraries: ["-lpmi2"])
        defer { try? FileManager.default.removeItem(atPath: (program as NSString).deletingLastPathComponent) }
        let run = try JobHarness.run([JobHarness.trellis, "run", "-n", "4", program], timeoutSeconds: 120)
        #expect(run.status == 0, "\(run.combined)")
        for rank in 0..<4 {
            #expect(run.output.contains("pmi2 rank \(rank) of 4 (appnum 0) read [rank \((rank + 1) % 4); with = and spaces] mapping (vector,(0,1,4))"),
                    "\(run.combined)")
        }
    }

    @Test func ranksConnectBackThroughPMIPortAndStrangersAreRefused() throws {
        let ring = try Self.build(Self.mpiRing, named: "ring", compiler: ["mpicc.mpich"])
        defer { try? FileManager.default.removeItem(atPath: (ring as NSString).deletingLastPathComponent) }
        let mpich = try JobHarness.run([JobHarness.trellis, "run", "-n", "4", "--pmi-port", ring], timeoutSeconds: 120)
        #expect(mpich.status == 0 && mpich.output.contains("mpich ring: size 4 sum 6 token 6"), "\(mpich.combined)")
        let collectives = JobHarness.binaries.appendingPathComponent("example-collectives").path
        let ours = try JobHarness.run([JobHarness.trellis, "run", "-n", "3", "--pmi-port", collectives], timeoutSeconds: 120)
        #expect(ours.status == 0 && ours.output.components(separatedBy: "sum 3.0 over 3 ranks").count == 4, "\(ours.combined)")
        // A connection that claims a rank the service does not wait for is closed unanswered.
        let script = "[ $PMI_ID = 0 ] || exit 0; port=${PMI_PORT##*:}; exec 5<>/dev/tcp/127.0.0.1/$port; echo 'cmd=initack pmiid=99' >&5; cat <&5; echo closed-with-nothing"
        let stranger = try JobHarness.run([JobHarness.trellis, "run", "-n", "2", "--pmi-port", "bash", "-c", script], timeoutSeconds: 60)
        #expect(stranger.status == 0 && stranger.output == "closed-with-nothing\n", "\(stranger.combined)")
    }
}
