import NIOCore
import TrellisFSProtocol

/// Extended attributes in the `user.` namespace, on files and directories
/// (as Linux allows them): reading needs read permission, changing needs
/// write permission, as for the object's data.
extension RequestHandler {
    func extendedAttribute(_ handle: ObjectHandle, _ name: String, _ credentials: Credentials) throws -> ByteBuffer {
        try attributeHolder(handle, credentials, access: 4)
        guard let value = try context.metadata.extendedAttribute(of: handle, named: ExtendedAttributeName.validate(name)) else {
            throw FSError(.noAttribute, "\(handle) has no extended attribute \(name)")
        }
        return ByteBuffer(bytes: value)
    }

    func setExtendedAttribute(
        _ handle: ObjectHandle, _ name: String, _ value: ByteBuffer, _ mode: ExtendedAttributeName.SetMode, _ credentials: Credentials
    ) throws {
        try ExtendedAttributeName.validate(name)
        try ExtendedAttributeName.validate(value: value.readableBytes, of: name)
        try attributeHolder(handle, credentials, access: 2)
        try context.metadata.setExtendedAttribute(of: handle, named: name, value: Array(value.readableBytesView), mode: mode, at: context.now())
    }

    func extendedAttributeNames(_ handle: ObjectHandle, _ credentials: Credentials) throws -> [String] {
        // Listing needs no permission on the object (as on Linux), only that it exists.
        _ = try object(handle)
        return try context.metadata.extendedAttributeNames(of: handle)
    }

    func removeExtendedAttribute(_ handle: ObjectHandle, _ name: String, _ credentials: Credentials) throws {
        try attributeHolder(handle, credentials, access: 2)
        try context.metadata.removeExtendedAttribute(of: handle, named: ExtendedAttributeName.validate(name), at: context.now())
    }

    private func attributeHolder(_ handle: ObjectHandle, _ credentials: Credentials, access: UInt32) throws {
        let target = try object(handle)
        guard target.kind == .file || target.kind == .directory else {
            throw FSError(.notPermitted, "user. extended attributes exist only on files and directories; \(handle) is a \(target.kind)")
        }
        guard target.allows(access, for: credentials) else {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not \(access == 4 ? "read" : "change") the extended attributes of \(handle)")
        }
    }
}
