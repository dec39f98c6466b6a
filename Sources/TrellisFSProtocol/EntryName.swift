/// Rules for one component of a path, checked by every server that adds
/// an entry (POSIX: no `/`, no NUL, not `.` or `..`, at most 255 bytes).
public enum EntryName {
    /// The longest name, in UTF-8 bytes (NAME_MAX).
    public static let maximumBytes = 255

    /// Returns `name` when it can name an entry; throws an error that says why not.
    @discardableResult
    public static func validate(_ name: String) throws -> String {
        if name.isEmpty { throw FSError(.invalidArgument, "an empty name cannot name an entry") }
        if name == "." || name == ".." { throw FSError(.invalidArgument, "'\(name)' cannot name an entry") }
        if name.utf8.contains(UInt8(ascii: "/")) { throw FSError(.invalidArgument, "the name '\(name)' contains '/'") }
        if name.utf8.contains(0) { throw FSError(.invalidArgument, "a name contains a NUL byte") }
        if name.utf8.count > maximumBytes {
            throw FSError(.nameTooLong, "a name of \(name.utf8.count) bytes is longer than \(maximumBytes)")
        }
        return name
    }

    /// Splits an absolute path into validated components (`/a//b/` is `a`, `b`).
    public static func components(ofAbsolute path: String) throws -> [String] {
        guard path.hasPrefix("/") else { throw FSError(.invalidArgument, "'\(path)' is not an absolute path") }
        guard path.utf8.count <= 4096 else { throw FSError(.nameTooLong, "a path of \(path.utf8.count) bytes is longer than 4096") }
        return try path.split(separator: "/", omittingEmptySubsequences: true).map { try validate(String($0)) }
    }
}
