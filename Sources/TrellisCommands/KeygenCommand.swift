import ArgumentParser
import TrellisCore
import TrellisRuntime

/// `trellis keygen`: makes the secret every process of a cluster proves it
/// holds before another talks to it (as `mungekey` makes MUNGE's key and
/// BeeGFS asks for a connAuthFile).
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a new cluster key: 32 random bytes, in a file only its owner can read (mode 0400).",
        discussion: """
            Copy the file to every host (same path or not) and name it with TRELLIS_KEY_FILE: a process that \
            holds a key talks only to processes that prove they hold the same one, with a challenge and an \
            HMAC-SHA256 answer from each side, fresh for every connection; one that holds none is refused by \
            them. An existing file is never replaced.
            """)

    @Argument(help: "Where to write the key.")
    var path: String

    func run() throws {
        do {
            _ = try ClusterKey.generate(at: path)
        } catch let error as TrellisError {
            throw ValidationError(error.message)
        }
        print("wrote a new cluster key to \(path) (mode 0400); name it with TRELLIS_KEY_FILE=\(path) on every host")
    }
}
