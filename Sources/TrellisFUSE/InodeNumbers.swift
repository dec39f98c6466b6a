import TrellisFSProtocol

/// Inode numbers are object handles, so the mount keeps no table of them
/// and forgets nothing: only the root trades places with FUSE's inode 1
/// (no handle is 1, since a handle's top bits hold its server plus one).
struct InodeNumbers: Sendable {
    let root: ObjectHandle

    static let rootInode: UInt64 = 1

    func inode(of handle: ObjectHandle) -> UInt64 {
        handle == root ? Self.rootInode : handle.rawValue
    }

    func handle(of inode: UInt64) -> ObjectHandle {
        inode == Self.rootInode ? root : ObjectHandle(rawValue: inode)
    }
}
