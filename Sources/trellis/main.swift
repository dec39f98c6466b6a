// trellis: the command users type. `trellis run` (and the `trellis proxy`
// it may start on every host) is answered by this small program, which links
// the launcher and its command line alone; every other command goes to
// trellis-tools beside it, the whole of Trellis, as git hands subcommands to
// git-* programs.
//
// Why two programs: a job's launch is dominated by the launcher's own start
// on one host, and loading the whole binary (about 100 000 relocations of a
// 100 MB image, then the Swift runtime scanning every protocol conformance
// in it on the argument parser's first casts) cost several milliseconds
// that MPICH's mpiexec does not pay (docs/decisions/0005).
import Glibc
import ArgumentParser
import TrellisCore
import TrellisRunCommand
import TrellisSystem

struct Trellis: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "trellis", subcommands: [RunCommand.self, ProxyCommand.self])
}

let arguments = CommandLine.arguments
if arguments.count > 1, arguments[1] == "run" || arguments[1] == "proxy" {
    Trellis.main()
} else if let tools = siblingProgram("trellis-tools") {
    let argv = ([tools] + arguments.dropFirst()).map { strdup($0) } + [nil]
    execv(tools, argv)
    writeToStandardError("trellis: cannot start \(tools): \(String(cString: strerror(errno)))\n")
    exit(126)
} else {
    writeToStandardError("trellis: only 'run' and 'proxy' are built into this program; the other commands are in trellis-tools, which is not beside it (swift build --product trellis-tools)\n")
    exit(127)
}
