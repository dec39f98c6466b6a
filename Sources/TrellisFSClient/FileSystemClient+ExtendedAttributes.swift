import NIOCore
import TrellisFSProtocol

/// Extended attributes (`user.` names only), asked of the object's own
/// server. A name the servers refuse anyway is refused here without asking:
/// the kernel asks a mount for `security.capability` before every write.
extension FileSystemClient {
    /// The value of extended attribute `name` (a `user.` name) of the object at `path`; `noAttribute` when it has none.
    public func extendedAttribute(_ path: String, named name: String, followLast: Bool = true) throws -> ByteBuffer {
        try extendedAttribute(of: try resolve(path, followLast: followLast).handle, named: name)
    }

    /// The value of extended attribute `name` of an object already looked up.
    public func extendedAttribute(of handle: ObjectHandle, named name: String) throws -> ByteBuffer {
        try ExtendedAttributeName.validate(name)
        return try call(owner: handle, GetExtendedAttribute(handle, name: name))
    }

    /// Sets extended attribute `name` of the object at `path`, as setxattr(2) with its create and replace flags.
    public func setExtendedAttribute(
        _ path: String, named name: String, to value: ByteBuffer, mode: ExtendedAttributeName.SetMode = .createOrReplace, followLast: Bool = true
    ) throws {
        try setExtendedAttribute(of: try resolve(path, followLast: followLast).handle, named: name, to: value, mode: mode)
    }

    /// Sets extended attribute `name` of an object already looked up.
    public func setExtendedAttribute(
        of handle: ObjectHandle, named name: String, to value: ByteBuffer, mode: ExtendedAttributeName.SetMode = .createOrReplace
    ) throws {
        try ExtendedAttributeName.validate(name)
        _ = try call(owner: handle, SetExtendedAttribute(handle, name: name, value: value, mode: mode))
    }

    /// The names of the extended attributes of the object at `path`.
    public func extendedAttributeNames(_ path: String, followLast: Bool = true) throws -> [String] {
        try extendedAttributeNames(of: try resolve(path, followLast: followLast).handle)
    }

    /// The names of the extended attributes of an object already looked up.
    public func extendedAttributeNames(of handle: ObjectHandle) throws -> [String] {
        try call(owner: handle, ListExtendedAttributes(handle))
    }

    /// Removes extended attribute `name` of the object at `path`; `noAttribute` when it has none.
    public func removeExtendedAttribute(_ path: String, named name: String, followLast: Bool = true) throws {
        try removeExtendedAttribute(of: try resolve(path, followLast: followLast).handle, named: name)
    }

    /// Removes extended attribute `name` of an object already looked up.
    public func removeExtendedAttribute(of handle: ObjectHandle, named name: String) throws {
        try ExtendedAttributeName.validate(name)
        _ = try call(owner: handle, RemoveExtendedAttribute(handle, name: name))
    }
}
