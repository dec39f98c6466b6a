import Glibc
import CTrellisSystem

/// Extended attributes of a file, directory or link (never following a
/// link), read and written whole, as `rsync -X` keeps them.
enum ExtendedAttributes {
    enum Target {
        case path(String)
        case descriptor(Int32)
    }

    /// Every attribute of `target`, sorted by name; nil with errno set when they cannot be read.
    static func read(_ target: Target) -> [ExtendedAttribute]? {
        var names = [CChar](repeating: 0, count: 4096)
        var length: Int
        while true {
            length = names.withUnsafeMutableBufferPointer { buffer in
                switch target {
                case .path(let path): return llistxattr(path, buffer.baseAddress, buffer.count)
                case .descriptor(let fd): return flistxattr(fd, buffer.baseAddress, buffer.count)
                }
            }
            if length >= 0 { break }
            if errno == ENOTSUP { return [] }
            guard errno == ERANGE, names.count < 1 << 20 else { return nil }
            names = [CChar](repeating: 0, count: names.count * 4)
        }
        var attributes: [ExtendedAttribute] = []
        for name in names[0..<length].split(separator: 0).map({ String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }) {
            var value = [UInt8](repeating: 0, count: 65536)
            let size = value.withUnsafeMutableBytes { bytes in
                switch target {
                case .path(let path): return lgetxattr(path, name, bytes.baseAddress, bytes.count)
                case .descriptor(let fd): return fgetxattr(fd, name, bytes.baseAddress, bytes.count)
                }
            }
            guard size >= 0 else { return nil }
            attributes.append(ExtendedAttribute(name: name, value: Array(value[0..<size])))
        }
        return attributes.sorted { $0.name < $1.name }
    }

    /// Makes `target`'s attributes exactly `wanted`: sets what differs,
    /// removes what the source lacks. Returns the error, if any.
    static func replace(on target: Target, with wanted: [ExtendedAttribute]) -> String? {
        guard let present = read(target) else { return String(cString: strerror(errno)) }
        let wantedNames = Set(wanted.map(\.name))
        for attribute in present where !wantedNames.contains(attribute.name) {
            let result: Int32
            switch target {
            case .path(let path): result = lremovexattr(path, attribute.name)
            case .descriptor(let fd): result = fremovexattr(fd, attribute.name)
            }
            if result != 0 { return "\(attribute.name): \(String(cString: strerror(errno)))" }
        }
        for attribute in wanted where !present.contains(attribute) {
            let result = attribute.value.withUnsafeBytes { bytes in
                switch target {
                case .path(let path): return lsetxattr(path, attribute.name, bytes.baseAddress, bytes.count, 0)
                case .descriptor(let fd): return fsetxattr(fd, attribute.name, bytes.baseAddress, bytes.count, 0)
                }
            }
            if result != 0 { return "\(attribute.name): \(String(cString: strerror(errno)))" }
        }
        return nil
    }
}
