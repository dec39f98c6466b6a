// trellis-proxy --parent ADDRESS (--position P | --join) [--key-on-stdin]
//
// One host's part of a job over hosts (`trellis proxy`), as a program of its
// own: it links the launcher alone, without Foundation or the file system,
// so it starts in a few milliseconds where the whole trellis binary takes
// several times that, once per host of every job.
import Glibc
import TrellisCore
import TrellisLauncher
import TrellisSystem

var parent: String?
var position: Int?
var keyOnStandardInput = false
var join = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--parent": parent = arguments.popFirst()
    case "--position": position = arguments.popFirst().flatMap { Int($0) }
    case "--key-on-stdin": keyOnStandardInput = true
    case "--join": join = true
    default:
        writeToStandardError("trellis-proxy: unknown argument '\(argument)'\n")
        exit(64)
    }
}
guard let parent, join || position != nil else {
    writeToStandardError("usage: trellis-proxy --parent ADDRESS (--position P | --join) [--key-on-stdin] (started by trellis run)\n")
    exit(64)
}
do {
    let key = try JobKey.handedToProxy(fromStandardInput: keyOnStandardInput)
    exit(JobProxy.run(parent: parent, position: position, key: key, join: join))
} catch {
    writeToStandardError("trellis-proxy: \(error)\n")
    exit(64)
}
