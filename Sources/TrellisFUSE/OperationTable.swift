import Glibc
import CFuse3

/// libfuse's table of low-level operations: C functions that find the
/// mounted file system through the session's user data and hand over.
/// Operations left out answer ENOSYS (the kernel then stops asking).
enum OperationTable {
    static func make() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userData, connection in
            guard let userData, let connection else { return }
            let fs = Unmanaged<MountedFileSystem>.fromOpaque(userData).takeUnretainedValue()
            trellis_fuse_configure(connection, fs.options.maxRequestBytes, fs.options.readAheadKiB * 1024, fs.options.readdirPlus ? 1 : 0)
        }
        ops.lookup = { request, parent, name in mountedFileSystem(request).lookup(request!, parent: parent, name: String(cString: name!)) }
        ops.forget = { request, _, _ in fuse_reply_none(request) }
        ops.forget_multi = { request, _, _ in fuse_reply_none(request) }
        ops.getattr = { request, inode, _ in mountedFileSystem(request).getAttributes(request!, inode: inode) }
        ops.setattr = { request, inode, attributes, toSet, info in
            mountedFileSystem(request).setAttributes(request!, inode: inode, attributes!.pointee, toSet, openFile: info?.pointee.fh)
        }
        ops.access = { request, inode, mask in mountedFileSystem(request).access(request!, inode: inode, mask: mask) }
        ops.readlink = { request, inode in mountedFileSystem(request).readLink(request!, inode: inode) }
        ops.mknod = { request, parent, name, mode, rdev in
            mountedFileSystem(request).makeNode(request!, parent: parent, name: String(cString: name!), mode: mode, rdev: UInt64(rdev))
        }
        ops.mkdir = { request, parent, name, mode in mountedFileSystem(request).makeDirectory(request!, parent: parent, name: String(cString: name!), mode: mode) }
        ops.unlink = { request, parent, name in mountedFileSystem(request).unlink(request!, parent: parent, name: String(cString: name!)) }
        ops.rmdir = { request, parent, name in mountedFileSystem(request).removeDirectory(request!, parent: parent, name: String(cString: name!)) }
        ops.symlink = { request, target, parent, name in
            mountedFileSystem(request).symlink(request!, target: String(cString: target!), parent: parent, name: String(cString: name!))
        }
        ops.rename = { request, parent, name, newParent, newName, flags in
            mountedFileSystem(request).rename(request!, parent: parent, name: String(cString: name!), newParent: newParent, newName: String(cString: newName!), flags: flags)
        }
        ops.link = { request, inode, newParent, newName in mountedFileSystem(request).link(request!, inode: inode, newParent: newParent, newName: String(cString: newName!)) }
        ops.open = { request, inode, info in mountedFileSystem(request).open(request!, inode: inode, info!) }
        ops.create = { request, parent, name, mode, info in mountedFileSystem(request).create(request!, parent: parent, name: String(cString: name!), mode: mode, info!) }
        ops.read = { request, inode, size, offset, info in
            mountedFileSystem(request).read(request!, inode: inode, size: size, offset: Int(offset), fileNumber: info!.pointee.fh)
        }
        ops.write = { request, inode, bytes, size, offset, info in
            mountedFileSystem(request).write(request!, inode: inode, bytes: UnsafeRawBufferPointer(start: bytes, count: size), offset: Int(offset), fileNumber: info!.pointee.fh)
        }
        ops.flush = { request, inode, info in mountedFileSystem(request).flush(request!, inode: inode, fileNumber: info!.pointee.fh) }
        ops.fsync = { request, inode, _, info in mountedFileSystem(request).fsync(request!, inode: inode, fileNumber: info!.pointee.fh) }
        ops.release = { request, inode, info in mountedFileSystem(request).release(request!, inode: inode, fileNumber: info!.pointee.fh) }
        ops.opendir = { request, inode, info in mountedFileSystem(request).openDirectory(request!, inode: inode, info!) }
        ops.readdir = { request, inode, size, offset, info in
            mountedFileSystem(request).readDirectory(request!, inode: inode, size: size, offset: Int(offset), fileNumber: info!.pointee.fh, plus: false)
        }
        ops.readdirplus = { request, inode, size, offset, info in
            mountedFileSystem(request).readDirectory(request!, inode: inode, size: size, offset: Int(offset), fileNumber: info!.pointee.fh, plus: true)
        }
        ops.releasedir = { request, _, info in mountedFileSystem(request).releaseDirectory(request!, fileNumber: info!.pointee.fh) }
        ops.fsyncdir = { request, _, _, _ in fuse_reply_err(request, 0) }
        ops.statfs = { request, inode in mountedFileSystem(request).statistics(request!, inode: inode) }
        ops.setxattr = { request, inode, name, value, size, flags in
            mountedFileSystem(request).setExtendedAttribute(request!, inode: inode, name: String(cString: name!), value: UnsafeRawBufferPointer(start: value, count: size), flags: flags)
        }
        ops.getxattr = { request, inode, name, size in mountedFileSystem(request).getExtendedAttribute(request!, inode: inode, name: String(cString: name!), size: size) }
        ops.listxattr = { request, inode, size in mountedFileSystem(request).listExtendedAttributes(request!, inode: inode, size: size) }
        ops.removexattr = { request, inode, name in mountedFileSystem(request).removeExtendedAttribute(request!, inode: inode, name: String(cString: name!)) }
        return ops
    }
}

/// A free function, so the C callbacks capture nothing.
private func mountedFileSystem(_ request: fuse_req_t?) -> MountedFileSystem {
    Unmanaged<MountedFileSystem>.fromOpaque(fuse_req_userdata(request)!).takeUnretainedValue()
}
