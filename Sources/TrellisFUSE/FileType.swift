import Glibc
import TrellisFSProtocol

/// Object kinds as the type bits of a stat's `st_mode` (S_IFMT), both ways.
extension ObjectKind {
    var fileTypeBits: UInt32 {
        switch self {
        case .directory: S_IFDIR
        case .symlink: S_IFLNK
        case .fifo: S_IFIFO
        case .socket: S_IFSOCK
        case .characterDevice: S_IFCHR
        case .blockDevice: S_IFBLK
        case .file, .datafile: S_IFREG
        }
    }

    /// The special file mknod(2) makes for `mode`'s type bits; nil for any other type.
    init?(specialFileMode mode: UInt32) {
        switch mode & S_IFMT {
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        default: return nil
        }
    }
}
