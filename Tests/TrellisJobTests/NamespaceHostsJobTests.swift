import Foundation
import Testing
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// `trellis run` over test hosts, each a network namespace with its own
/// address, hostname and sshd: proxies start over real ssh, ranks listen
/// on their host's own address, and a cut link or a killed proxy leaves
/// nothing behind on any host. The launcher runs on the first host.
/// They need root and network namespaces; elsewhere they say so and skip.
@Suite(.serialized, .enabled(if: TestHosts.unavailable == nil, "\(TestHosts.unavailable ?? "")"))
struct NamespaceHostsJobTests {
    private func launch(
        _ cluster: TestHosts, _ arguments: [String], input: String? = nil, whileRunning: ((CommandRunner.Child) -> Void)? = nil
    ) throws -> JobHarness.Outcome {
        try cluster.runAsUser(on: 0, [JobHarness.trellis, "run", "--ssh", "ssh -F \(cluster.sshConfig)"] + arguments, input: input, whileRunning: whileRunning)
    }

    /// Every process on the hosts but their sshds; polls until none is left or time runs out.
    private func leftovers(_ cluster: TestHosts) -> String {
        var left = ""
        _ = poll(until: .after(seconds: 15), intervalMicroseconds: 200_000) {
            left = cluster.processesLeft()
            return left.isEmpty
        }
        return left
    }

    @Test func ranksStdioSignalsAndMPIProgramsAcrossFourHosts() throws {
        let cluster = try TestHosts(count: 4)
        let names = cluster.hosts.map(\.name)
        let list = "\(cluster.name)-h[0-3]"
        // Ranks on every host, each listening on its host's own address.
        let placed = try launch(cluster, ["-n", "8", "--hosts", list, "--fanout", "2", "--tag-output", "--report", "sh", "-c", "echo on $(hostname) at $TRELLIS_HOST"])
        #expect(placed.status == 0, "\(placed.combined)")
        for rank in 0..<8 {
            let host = cluster.hosts[rank % 4]
            #expect(placed.output.contains("[\(host.name):\(rank)] on \(host.name) at \(host.address)\n"), "\(placed.combined)")
        }
        #expect(placed.errors.contains("\(names[3]): ranks 3,7 exited 0"), "\(placed.combined)")

        // Trellis's runtime and MPICH between hosts: point-to-point and collectives.
        let collectives = JobHarness.binaries.appendingPathComponent("example-collectives").path
        let ours = try launch(cluster, ["-n", "8", "--hosts", list, collectives])
        #expect(ours.status == 0 && ours.output.components(separatedBy: "sum 28.0 over 8 ranks").count == 9, "\(ours.combined)")
        let ring = try PMIClientJobTests.build(PMIClientJobTests.mpiRing, named: "ring", compiler: ["mpicc.mpich"])
        defer { try? FileManager.default.removeItem(atPath: (ring as NSString).deletingLastPathComponent) }
        let mpich = try launch(cluster, ["-n", "8", "--hosts", list, "--ppn", "2", ring])
        #expect(mpich.status == 0 && mpich.output.contains("mpich ring: size 8 sum 28 token 28"), "\(mpich.combined)")
        let pmi2 = try PMIClientJobTests.build(PMIClientJobTests.pmi2Exchange, named: "pmi2", compiler: ["cc"], libraries: ["-lpmi2"])
        defer { try? FileManager.default.removeItem(atPath: (pmi2 as NSString).deletingLastPathComponent) }
        let slurm = try launch(cluster, ["-n", "6", "--hosts", "\(cluster.name)-h[1-3]", "--ppn", "2", pmi2])
        #expect(slurm.status == 0 && slurm.output.components(separatedBy: "mapping (vector,(0,3,2))").count == 7, "\(slurm.combined)")

        // Stdin to rank 0 on another host; the highest failure is the exit code.
        let echoed = try launch(cluster, ["-n", "2", "--hosts", "\(names[2]),\(names[3])", "sh", "-c", "cat; echo end-$PMI_RANK-$(hostname)"], input: "from-stdin\n")
        #expect(echoed.status == 0 && echoed.output.components(separatedBy: "from-stdin").count == 2, "\(echoed.combined)")
        #expect(echoed.output.contains("end-0-\(names[2])"), "\(echoed.combined)")
        let failing = try launch(cluster, ["-n", "4", "--hosts", list, "--keep-going", "sh", "-c", "exit $((PMI_RANK * 2))"])
        #expect(failing.status == 6, "\(failing.combined)")
        #expect(failing.errors.contains("rank 3 (pid") && failing.errors.contains("on \(names[3])) exited with code 6"), "\(failing.combined)")

        // A signal to the launcher reaches every host's ranks.
        let script = "trap 'echo term-$PMI_RANK; exit 0' TERM; echo ready-$PMI_RANK; while true; do sleep 0.05; done"
        let stopped = try launch(cluster, ["-n", "4", "--hosts", list, "sh", "-c", script]) { child in
            _ = poll(until: .after(seconds: 60)) { (0..<4).allSatisfy { child.output.contains("ready-\($0)") } }
            kill(child.pid, SIGTERM)
        }
        #expect(stopped.status == 128 + SIGTERM, "\(stopped.combined)")
        for rank in 0..<4 { #expect(stopped.output.contains("term-\(rank)"), "\(stopped.combined)") }
        let left = leftovers(cluster)
        #expect(left.isEmpty, "left running: \(left)")
    }

    @Test func aCutLinkAndAKilledProxyEndTheJobNamingTheHostWithNothingLeft() throws {
        let cluster = try TestHosts(count: 3)
        let list = "\(cluster.name)-h[0-2]"
        let cut = try launch(cluster, ["-n", "6", "--hosts", list, "--link-timeout", "3", "sh", "-c", "echo ready; exec sleep 300"]) { child in
            _ = poll(until: .after(seconds: 60)) { child.output.components(separatedBy: "ready").count == 7 }
            _ = try? CommandRunner.run(["ip", "-n", cluster.hosts[2].name, "link", "set", "eth0", "down"], timeoutSeconds: 30)
        }
        #expect(cut.status == 255, "\(cut.combined)")
        #expect(cut.errors.contains("lost host \(cluster.hosts[2].name) with ranks 2,5"), "\(cut.combined)")
        #expect(cut.errors.contains("link cut?"), "\(cut.combined)")
        // The cut-off host ended its own ranks when it stopped hearing from the launcher.
        var left = leftovers(cluster)
        #expect(left.isEmpty, "left running after the cut: \(left)")
        _ = try JobHarness.run(["ip", "-n", cluster.hosts[2].name, "link", "set", "eth0", "up"])

        let killed = try launch(cluster, ["-n", "6", "--hosts", list, "sh", "-c", "echo ready; exec sleep 300"]) { child in
            _ = poll(until: .after(seconds: 60)) { child.output.components(separatedBy: "ready").count == 7 }
            _ = try? cluster.run(on: 1, ["sh", "-c", "ip netns pids \(cluster.hosts[1].name) | xargs -r ps -o pid=,args= -p | grep -E 'trellis-proxy|trellis proxy' | awk '{print $1}' | xargs -r kill -9"])
        }
        #expect(killed.status == 255, "\(killed.combined)")
        #expect(killed.errors.contains("lost host \(cluster.hosts[1].name) with ranks 1,4"), "\(killed.combined)")
        left = leftovers(cluster)
        #expect(left.isEmpty, "left running after the kill: \(left)")
    }

    /// MPI_Comm_spawn through the launcher: the children of each spawn land one per host of
    /// the job (its slots), started by new proxies there, and talk to their parents across hosts.
    @Test
    func trellisProgramsSpawnOnTheJobsHosts() throws {
        let cluster = try TestHosts(count: 3)
        let hosts = cluster.hosts.map(\.name).joined(separator: ",")
        let spawned = try launch(cluster, ["-n", "3", "--hosts", hosts, JobHarness.conformance, "spawn"])
        #expect(spawned.status == 0 && spawned.output.contains("SPAWNED from 3 ranks"), "\(spawned.combined)")
        for (rank, host) in cluster.hosts.enumerated() {
            // The first spawn's three children, then the second's three (one program of 1, one of 2).
            #expect(spawned.output.components(separatedBy: "spawned child \(rank) of 3 on \(host.name)\n").count == 3, "\(spawned.combined)")
        }
        #expect(spawned.errors.contains("cannot start '/nonexistent/trellis-program'"), "\(spawned.combined)")
        let left = leftovers(cluster)
        #expect(left.isEmpty, "left running: \(left)")
    }

    /// `trellis exec` over real ssh: each host answers with its own name and
    /// its own node-local folder; a host that cannot be reached is named and
    /// the others still answer.
    @Test func execGathersEveryHostAndNamesOneItCannotReach() throws {
        let cluster = try TestHosts(count: 3)
        #expect(try cluster.ssh(from: 0, to: 1, "echo only-on-h1 > \(cluster.localFolder)/mark").status == 0)
        func exec(_ hosts: String, _ command: String) throws -> JobHarness.Outcome {
            try cluster.runAsUser(on: 0, [JobHarness.trellis, "exec", "--hosts", hosts, "--ssh", "ssh -F \(cluster.sshConfig)", "--", command])
        }
        let names = try exec("\(cluster.name)-h[0-2]", "hostname")
        #expect(names.status == 0, "\(names.combined)")
        for host in cluster.hosts {
            #expect(names.output.contains(Self.block("\(host.name) (1)", host.name)), "\(names.combined)")
        }
        let marks = try exec("\(cluster.name)-h[0-2],\(cluster.name)-gone", "cat \(cluster.localFolder)/mark 2>/dev/null || echo none")
        #expect(marks.status == 255, "\(marks.combined)")
        #expect(marks.output.contains(Self.block("\(cluster.name)-h[0,2] (2)", "none")), "\(marks.combined)")
        #expect(marks.output.contains(Self.block("\(cluster.name)-h1 (1)", "only-on-h1")), "\(marks.combined)")
        #expect(marks.errors.contains("unreachable: \(cluster.name)-gone: its proxy on \(cluster.name)-gone: its bootstrap exited with code 255 "
            + "before the proxy connected back (ssh: Could not resolve hostname \(cluster.name)-gone"), "\(marks.combined)")
        let left = leftovers(cluster)
        #expect(left.isEmpty, "left running: \(left)")
    }

    /// One block of `trellis exec`'s folded output: its header between rules as long as it, then the output.
    private static func block(_ header: String, _ output: String) -> String {
        let rule = String(repeating: "-", count: max(header.count, 15))
        return "\(rule)\n\(header)\n\(rule)\n\(output)\n"
    }

    @Test func trellisProgramsRunAcrossHostsUnderHydra() throws {
        let cluster = try TestHosts(count: 3)
        let hosts = cluster.hosts.map(\.name).joined(separator: ",")
        let collectives = JobHarness.binaries.appendingPathComponent("example-collectives").path
        // Hydra's ssh launcher, its PMI-1 over PMI_FD and over PMI_PORT: ranks learn from the
        // process mapping that the job spans hosts and listen on their host's own address.
        for mode in [[], ["-pmi-port"]] {
            let hydra = try cluster.runAsUser(
                on: 0, ["mpiexec.mpich"] + mode + ["-launcher", "ssh", "-launcher-exec", cluster.sshProgram, "-hosts", hosts, "-n", "6", collectives])
            #expect(hydra.status == 0, "\(mode): \(hydra.combined)")
            #expect(hydra.output.components(separatedBy: "sum 15.0 over 6 ranks").count == 7, "\(mode): \(hydra.combined)")
        }
        let left = leftovers(cluster)
        #expect(left.isEmpty, "left running: \(left)")
    }

    @Test func aFileSystemOverFourHostsServesAClientAndAMountOnAFifth() throws {
        let cluster = try TestHosts(count: 5)
        let names = cluster.hosts.map(\.name)
        let data = cluster.folder + "/fs-data"
        let clientFile = data + "/client.toml"
        var onClient: [String: JobHarness.Outcome] = [:]
        // A client on the fifth host, which runs no server: TRELLIS_CONFIG names the name service.
        func client(_ script: String) throws -> JobHarness.Outcome {
            try cluster.runAsUser(on: 4, ["sh", "-c", script], environment: ["TRELLIS_CONFIG": clientFile, "T": JobHarness.trellis], timeoutSeconds: 120)
        }
        // Readiness is the ready file `up` writes once every server has published its name, not a line it prints.
        let readyFile = cluster.folder + "/spread.ready"
        let up = try cluster.runAsUser(
            on: 0, [JobHarness.trellis, "up", "--hosts", "\(cluster.name)-h[0-3]", "--data", data, "--name", "spread", "--ssh", "ssh -F \(cluster.sshConfig)", "--ready-file", readyFile],
            timeoutSeconds: 300
        ) { _ in
            guard poll(until: .after(seconds: 120), { FileManager.default.fileExists(atPath: readyFile) }) else { return }
            onClient["ping"] = try? client("$T fs ping --name spread")
            onClient["copy"] = try? client("head -c 300000 /dev/urandom > /tmp/spread.in && $T fs cp --name spread /tmp/spread.in fs:/spread.bin && $T fs cp --name spread fs:/spread.bin /tmp/spread.out && cmp /tmp/spread.in /tmp/spread.out && $T fs layout get --name spread /spread.bin")
            // The FUSE mount lives in this host's mount namespace: mount, use and unmount in one go.
            onClient["mount"] = try? client("""
                mkdir -p /tmp/spread-mnt && ($T mount spread /tmp/spread-mnt --foreground & ) && \
                for i in $(seq 100); do mountpoint -q /tmp/spread-mnt && break; sleep 0.1; done && \
                echo through-the-mount > /tmp/spread-mnt/note.txt && cat /tmp/spread-mnt/note.txt && ls /tmp/spread-mnt && \
                cmp /tmp/spread-mnt/spread.bin /tmp/spread.in && echo same-bytes; $T umount /tmp/spread-mnt
                """)
            // A server host's server dies: ping names it and where it was; the others still answer.
            _ = try? cluster.run(on: 2, ["sh", "-c", "pkill -9 -f 'server --config \(data)/fs.toml --index 2'"])
            onClient["lost"] = try? client("$T fs ping --name spread")
            onClient["down"] = try? cluster.runAsUser(on: 0, [JobHarness.trellis, "down", "--data", data])
        }
        #expect(up.output.contains("is up: 4 servers on \(cluster.name)-h[0-3]"), "\(up.combined)")
        let ping = onClient["ping"]
        #expect(ping?.status == 0, "\(ping?.combined ?? "no ping")")
        for index in 0..<4 { #expect(ping?.output.contains("server \(index) (trellis-fs/spread/\(index) at \(cluster.hosts[index].address):") == true, "\(ping?.combined ?? "")") }
        let copy = onClient["copy"]
        #expect(copy?.status == 0 && copy?.output.contains("datafiles") == true, "\(copy?.combined ?? "no copy")")
        let mount = onClient["mount"]
        #expect(mount?.output.contains("through-the-mount\n") == true && mount?.output.contains("same-bytes") == true, "\(mount?.combined ?? "no mount")")
        let lost = onClient["lost"]
        #expect(lost?.status != 0 && lost?.combined.contains("server(s) 2 (on \(cluster.hosts[2].address)) of spread did not answer") == true, "\(lost?.combined ?? "no ping")")
        #expect(lost?.output.contains("server 3 (trellis-fs/spread/3 at \(cluster.hosts[3].address)") == true && lost?.output.contains("ok in") == true, "\(lost?.combined ?? "")")
        #expect(onClient["down"]?.status == 0, "\(onClient["down"]?.combined ?? "no down")")
        #expect(up.output.contains("stopped on every host"), "\(up.combined)")
        #expect(up.combined.contains("[\(names[2]):2]"), "\(up.combined)")
        let left = leftovers(cluster)
        #expect(left.isEmpty, "left running: \(left)")
    }
}
