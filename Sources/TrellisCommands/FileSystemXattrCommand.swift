import ArgumentParser
import TrellisFSClient
import Foundation
import NIOCore
import TrellisFSProtocol

extension FileSystemCommand {
    /// `trellis fs xattr get|set|list|rm`, like getfattr / setfattr.
    struct ExtendedAttributes: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "xattr", abstract: "Get, set, list and remove extended attributes (user. names).",
            subcommands: [Get.self, Set.self, List.self, Remove.self])

        struct Get: ClientCommand {
            static let configuration = CommandConfiguration(commandName: "get", abstract: "Print one attribute's value (raw bytes; --json: path, name, value as text or base64).")
            @OptionGroup var options: FileSystemOptions
            @Flag(help: "One JSON object.") var json = false
            @Argument(help: "A path in the file system.") var path: String
            @Argument(help: "The attribute, e.g. user.project.") var name: String

            func run(_ fs: FileSystemClient) throws {
                let value = Array(try fs.extendedAttribute(path, named: name).readableBytesView)
                if json {
                    let text = String(validating: value, as: UTF8.self)
                    try printJSON(["path": path, "name": name, text == nil ? "base64" : "value": text ?? Data(value).base64EncodedString()])
                } else {
                    FileHandle.standardOutput.write(Data(value))
                    if isatty(STDOUT_FILENO) == 1 { print() }
                }
            }
        }

        struct Set: ClientCommand {
            static let configuration = CommandConfiguration(commandName: "set", abstract: "Set one attribute.")
            @OptionGroup var options: FileSystemOptions
            @Flag(help: "Fail if it exists (XATTR_CREATE).") var create = false
            @Flag(help: "Fail unless it exists (XATTR_REPLACE).") var replace = false
            @Argument(help: "A path in the file system.") var path: String
            @Argument(help: "The attribute, e.g. user.project.") var name: String
            @Argument(help: "Its value (text).") var value: String

            func validate() throws {
                guard !(create && replace) else { throw ValidationError("--create and --replace exclude each other") }
            }

            func run(_ fs: FileSystemClient) throws {
                try fs.setExtendedAttribute(path, named: name, to: ByteBuffer(string: value), mode: create ? .createOnly : replace ? .replaceOnly : .createOrReplace)
            }
        }

        struct List: ClientCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the attribute names (JSON: path, names).")
            @OptionGroup var options: FileSystemOptions
            @Flag(help: "One JSON object.") var json = false
            @Argument(help: "A path in the file system.") var path: String

            func run(_ fs: FileSystemClient) throws {
                let names = try fs.extendedAttributeNames(path)
                if json {
                    struct Record: Codable { var path: String; var names: [String] }
                    try printJSON(Record(path: path, names: names))
                } else {
                    for name in names { print(name) }
                }
            }
        }

        struct Remove: ClientCommand {
            static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove one attribute.")
            @OptionGroup var options: FileSystemOptions
            @Argument(help: "A path in the file system.") var path: String
            @Argument(help: "The attribute, e.g. user.project.") var name: String

            func run(_ fs: FileSystemClient) throws {
                try fs.removeExtendedAttribute(path, named: name)
            }
        }
    }
}
