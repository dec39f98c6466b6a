import NIOCore
import TrellisFSProtocol

/// Extended attributes (`user.` names only), asked of the object's own server.
extension FileSystemClient {
    public func extendedAttribute(_ path: String, named name: String, followLast: Bool = true) throws -> ByteBuffer {
        let target = try resolve(path, followLast: followLast)
        guard case .data(let value) = try call(owner: target.handle, .getExtendedAttribute(target.handle, name: name)) else {
            throw FSError(.protocolViolation, "getxattr of \(path) answered without a value")
        }
        return value
    }

    public func setExtendedAttribute(
        _ path: String, named name: String, to value: ByteBuffer, mode: ExtendedAttributeName.SetMode = .createOrReplace, followLast: Bool = true
    ) throws {
        let target = try resolve(path, followLast: followLast)
        _ = try call(owner: target.handle, .setExtendedAttribute(target.handle, name: name, value: value, mode: mode))
    }

    public func extendedAttributeNames(_ path: String, followLast: Bool = true) throws -> [String] {
        let target = try resolve(path, followLast: followLast)
        guard case .names(let names) = try call(owner: target.handle, .listExtendedAttributes(target.handle)) else {
            throw FSError(.protocolViolation, "listxattr of \(path) answered without names")
        }
        return names
    }

    public func removeExtendedAttribute(_ path: String, named name: String, followLast: Bool = true) throws {
        let target = try resolve(path, followLast: followLast)
        _ = try call(owner: target.handle, .removeExtendedAttribute(target.handle, name: name))
    }
}
