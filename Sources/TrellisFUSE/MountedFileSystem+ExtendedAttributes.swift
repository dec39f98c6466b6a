import Glibc
import CFuse3
import NIOCore
import TrellisFSClient
import TrellisFSProtocol

/// getxattr, setxattr, listxattr and removexattr (`user.` names), with the
/// size-probe protocol: a size of 0 asks how big the answer is, and a
/// buffer too small is ERANGE.
extension MountedFileSystem {
    func getExtendedAttribute(_ request: fuse_req_t, inode: UInt64, name: String, size: Int) {
        perform(request, "getxattr", inode: inode) { fs in
            let value = try fs.extendedAttribute(of: inodes.handle(of: inode), named: name)
            replySized(request, Array(value.readableBytesView), size: size)
        }
    }

    func setExtendedAttribute(_ request: fuse_req_t, inode: UInt64, name: String, value: UnsafeRawBufferPointer, flags: Int32) {
        perform(request, "setxattr", inode: inode) { fs in
            let createOnly: Int32 = 1
            let replaceOnly: Int32 = 2
            let mode: ExtendedAttributeName.SetMode = flags & createOnly != 0 ? .createOnly : flags & replaceOnly != 0 ? .replaceOnly : .createOrReplace
            let handle = inodes.handle(of: inode)
            try changing(handle) { try fs.setExtendedAttribute(of: handle, named: name, to: ByteBuffer(bytes: value), mode: mode) }
            fuse_reply_err(request, 0)
        }
    }

    func listExtendedAttributes(_ request: fuse_req_t, inode: UInt64, size: Int) {
        perform(request, "listxattr", inode: inode) { fs in
            let names = try fs.extendedAttributeNames(of: inodes.handle(of: inode))
            replySized(request, names.flatMap { Array($0.utf8) + [0] }, size: size)
        }
    }

    func removeExtendedAttribute(_ request: fuse_req_t, inode: UInt64, name: String) {
        perform(request, "removexattr", inode: inode) { fs in
            let handle = inodes.handle(of: inode)
            try changing(handle) { try fs.removeExtendedAttribute(of: handle, named: name) }
            fuse_reply_err(request, 0)
        }
    }

    private func replySized(_ request: fuse_req_t, _ bytes: [UInt8], size: Int) {
        if size == 0 {
            fuse_reply_xattr(request, bytes.count)
        } else if bytes.count > size {
            fuse_reply_err(request, ERANGE)
        } else {
            bytes.withUnsafeBytes { _ = fuse_reply_buf(request, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count) }
        }
    }
}
