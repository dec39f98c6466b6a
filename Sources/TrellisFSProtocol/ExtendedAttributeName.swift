/// Extended attributes: the `user.` namespace only (the one unprivileged
/// programs use; `trusted.`, `security.` and `system.` mean things to the
/// kernel that a Trellis server cannot enforce), with Linux's limits.
public enum ExtendedAttributeName {
    /// The longest name, `user.` included (XATTR_NAME_MAX).
    public static let maximumNameBytes = 255
    /// The largest value (XATTR_SIZE_MAX).
    public static let maximumValueBytes = 65_536
    /// All names of one object together, as listxattr returns them (NUL-separated).
    public static let maximumListBytes = 65_536

    /// How a set treats an attribute that exists or not (XATTR_CREATE / XATTR_REPLACE).
    public enum SetMode: UInt8, Sendable, Hashable {
        case createOrReplace = 0
        case createOnly = 1
        case replaceOnly = 2
    }

    /// The name, when it is a `user.` name within the limit; `notSupported` or `nameTooLong` otherwise.
    @discardableResult
    public static func validate(_ name: String) throws -> String {
        guard name.hasPrefix("user."), name.utf8.count > 5 else {
            throw FSError(.notSupported, "extended attribute '\(name)': only names in the user. namespace are supported")
        }
        guard name.utf8.count <= maximumNameBytes else {
            throw FSError(.nameTooLong, "extended attribute name of \(name.utf8.count) bytes is above the \(maximumNameBytes)-byte limit")
        }
        guard !name.utf8.contains(0) else { throw FSError(.invalidArgument, "an extended attribute name cannot hold NUL") }
        return name
    }

    /// Throws `tooBig` for a value over the limit.
    public static func validate(value bytes: Int, of name: String) throws {
        guard bytes <= maximumValueBytes else {
            throw FSError(.tooBig, "extended attribute \(name): a value of \(bytes) bytes is above the \(maximumValueBytes)-byte limit")
        }
    }
}
