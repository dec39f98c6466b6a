import Testing
import TrellisCore
import TrellisHosts
@testable import TrellisClusterTools

/// How `trellis shell` reads scripts and PBS batch scripts.
struct ShellScriptTests {
    @Test func linesAreParsedAsMPISHReadThem() throws {
        #expect(try ShellLine.parse("  # a comment") == nil)
        #expect(try ShellLine.parse("") == nil)
        #expect(try ShellLine.parse("cd /scratch") == .changeDirectory("/scratch"))
        #expect(try ShellLine.parse("set +e") == .stopOnFailure(false))
        #expect(try ShellLine.parse("@n[1-2] uname -r") == .command("uname -r", hosts: try NodeSet("n[1-2]")))
        #expect(try ShellLine.parse("run -n 4 ./ring 'a b' \"c\\\"d\"") == .run(count: 4, program: ["./ring", "a b", "c\"d"], hosts: nil))
        #expect(try ShellLine.parse("stage --preserve data --to /local") == .stage(["--preserve", "data", "--to", "/local"], hosts: nil))
        #expect(throws: TrellisError.self) { try ShellLine.parse("run -n x prog") }
        #expect(throws: TrellisError.self) { try ShellLine.parse("@n[1- true") }
        #expect(throws: TrellisError.self) { try ShellLine.parse("echo 'open") }
        #expect(throws: TrellisError.self) { try ShellLine.parse("export =x") }
        let lines = ShellLine.logicalLines("echo a \\\n  b\necho c")
        #expect(lines.map(\.number) == [1, 3] && lines[0].text == "echo a    b" && lines[1].text == "echo c")
    }

    @Test func pbsDirectivesGiveNodesProcessesNameAndWalltime() throws {
        let script = try PBSScript(text: "#!/bin/sh\n#PBS -N sim\n#PBS -l nodes=3:ppn=2\n#PBS -l walltime=01:02:03\ncd $PBS_O_WORKDIR\n#PBS -l nodes=9\n", scriptName: "/x/job.pbs")
        #expect(script.nodes == 3 && script.processesPerNode == 2 && script.name == "sim" && script.wallSeconds == 3723)
        #expect(script.nodefile(hosts: ["a", "b", "c", "d"]) == "a\na\nb\nb\nc\nc\n")
        let environment = script.environment(nodefile: "/tmp/nodes", jobID: "7.head", workingDirectory: "/home/u", submitHost: "head")
        #expect(environment["PBS_NP"] == "6" && environment["PBS_JOBNAME"] == "sim" && environment["PBS_O_WORKDIR"] == "/home/u" && environment["PBS_NODEFILE"] == "/tmp/nodes")
        #expect(try PBSScript(text: "echo hi\n", scriptName: "plain.sh").name == "plain.sh")
        #expect(throws: TrellisError.self) { try PBSScript(text: "#PBS -l nodes=0\n", scriptName: "x") }
        #expect(throws: TrellisError.self) { try PBSScript(text: "#PBS -l walltime=00:00:00\n", scriptName: "x") }
    }
}
