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
        guard case .data(let value) = try call(owner: handle, .getExtendedAttribute(handle, name: name)) else {
            throw FSError(.protocolViolation, "getxattr of object \(handle) answered without a value")
        }
        return value
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
        _ = try call(owner: handle, .setExtendedAttribute(handle, name: name, value: value, mode: mode))
    }

    public func extendedAttributeNames(_ path: String, followLast: Bool = true) throws -> [String] {
        try extendedAttributeNames(of: try resolve(path, followLast: followLast).handle)
    }

    public func extendedAttributeNames(of handle: ObjectHandle) throws -> [String] {
        guard case .names(let names) = try call(owner: handle, .listExtendedAttributes(handle)) else {
            throw FSError(.protocolViolation, "listxattr of object \(handle) answered without names")
        }
        return names
    }

    public func removeExtendedAttribute(_ path: String, named name: String, followLast: Bool = true) throws {
        try removeExtendedAttribute(of: try resolve(path, followLast: followLast).handle, named: name)
    }

    public func removeExtendedAttribute(of handle: ObjectHandle, named name: String) throws {
        try ExtendedAttributeName.validate(name)
        _ = try call(owner: handle, .removeExtendedAttribute(handle, name: name))
    }
}
