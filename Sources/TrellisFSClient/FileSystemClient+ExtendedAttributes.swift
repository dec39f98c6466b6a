import NIOCore
import TrellisFSProtocol

/// Extended attributes (`user.` names only), asked of the object's own
/// server. A name the servers refuse anyway is refused here without asking:
/// the kernel asks a mount for `security.capability` before every write.
extension FileSystemClient {
    public func extendedAttribute(_ path: String, named name: String, followLast: Bool = true) throws -> ByteBuffer {
        try extendedAttribute(of: try resolve(path, followLast: followLast).handle, named: name)
    }

    public func extendedAttribute(of handle: ObjectHandle, named name: String) throws -> ByteBuffer {
        try ExtendedAttributeName.validate(name)
        return try call(owner: handle, GetExtendedAttribute(handle, name: name))
    }

    public func setExtendedAttribute(
        _ path: String, named name: String, to value: ByteBuffer, mode: ExtendedAttributeName.SetMode = .createOrReplace, followLast: Bool = true
    ) throws {
        try setExtendedAttribute(of: try resolve(path, followLast: followLast).handle, named: name, to: value, mode: mode)
    }

    public func setExtendedAttribute(
        of handle: ObjectHandle, named name: String, to value: ByteBuffer, mode: ExtendedAttributeName.SetMode = .createOrReplace
    ) throws {
        try ExtendedAttributeName.validate(name)
        _ = try call(owner: handle, SetExtendedAttribute(handle, name: name, value: value, mode: mode))
    }

    public func extendedAttributeNames(_ path: String, followLast: Bool = true) throws -> [String] {
        try extendedAttributeNames(of: try resolve(path, followLast: followLast).handle)
    }

    public func extendedAttributeNames(of handle: ObjectHandle) throws -> [String] {
        try call(owner: handle, ListExtendedAttributes(handle))
    }

    public func removeExtendedAttribute(_ path: String, named name: String, followLast: Bool = true) throws {
        try removeExtendedAttribute(of: try resolve(path, followLast: followLast).handle, named: name)
    }

    public func removeExtendedAttribute(of handle: ObjectHandle, named name: String) throws {
        try ExtendedAttributeName.validate(name)
        _ = try call(owner: handle, RemoveExtendedAttribute(handle, name: name))
    }
}
