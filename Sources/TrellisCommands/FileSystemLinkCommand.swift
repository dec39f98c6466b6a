import ArgumentParser
import TrellisFSClient

extension FileSystemCommand {
    /// `trellis fs ln [-s] TARGET LINK`, as ln(1) has it.
    struct Link: ClientCommand {
        static let configuration = CommandConfiguration(
            commandName: "ln", abstract: "Make a hard link (any directory of the file system) or, with -s, a symbolic link.")
        @OptionGroup var options: FileSystemOptions
        @Flag(name: .short, help: "Make a symbolic link holding TARGET as it is written.") var symbolic = false
        @Argument(help: "What the link names: a path in the file system (for -s, any text).") var target: String
        @Argument(help: "The new link's path.") var link: String

        func run(_ fs: FileSystemClient) throws {
            if symbolic {
                try fs.symlink(link, to: target)
            } else {
                try fs.link(link, to: target)
            }
        }
    }
}
