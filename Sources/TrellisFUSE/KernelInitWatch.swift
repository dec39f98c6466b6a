import Glibc
import CFuse3
import Synchronization

/// The kernel (6.6 and later) can map a direct-I/O file shared when the
/// file system asks for FUSE_DIRECT_IO_ALLOW_MMAP at INIT, but libfuse 3.14
/// (Debian 12's) predates that flag and cannot ask. The session's device
/// I/O goes through here instead: the kernel's INIT request is noted and,
/// when it offers the flag, libfuse's reply gets it. Every other message
/// passes through unchanged.
enum KernelInitWatch {
    private static let directIOAllowMmap: UInt64 = 1 << 36
    private static let initExtended: UInt32 = 1 << 30

    private static let initUnique = Atomic<UInt64>(0)
    private static let offered = Atomic<Bool>(false)
    private static let granted = Atomic<Bool>(false)

    /// Whether the kernel took the flag: then direct-I/O opens can be mapped shared.
    static var directIOCanMapShared: Bool { granted.load(ordering: .acquiring) }

    /// Routes `session`'s device reads and writes through the watch; call
    /// it after mounting and before the loop reads the INIT request.
    static func install(on session: OpaquePointer) -> Bool {
        var io = fuse_custom_io()
        io.read = { descriptor, buffer, length, _ in
            let count = Glibc.read(descriptor, buffer, length)
            if let buffer { KernelInitWatch.noteInit(UnsafeRawBufferPointer(start: buffer, count: max(count, 0))) }
            return count
        }
        io.writev = { descriptor, vectors, count, _ in
            guard let vectors, count == 2, let patched = KernelInitWatch.patchedInitReply(vectors[0], vectors[1]) else {
                return Glibc.writev(descriptor, vectors, count)
            }
            return withUnsafeBytes(of: patched) { reply in
                vectors[1].iov_base = UnsafeMutableRawPointer(mutating: reply.baseAddress)
                return Glibc.writev(descriptor, vectors, count)
            }
        }
        return fuse_session_custom_io(session, &io, fuse_session_fd(session)) == 0
    }

    private static func noteInit(_ message: UnsafeRawBufferPointer) {
        let headerSize = MemoryLayout<fuse_in_header>.size
        let flags2End = MemoryLayout<fuse_init_in>.offset(of: \.flags2)! + 4
        guard message.count >= headerSize + flags2End else { return }
        let header = message.loadUnaligned(as: fuse_in_header.self)
        guard header.opcode == FUSE_INIT.rawValue else { return }
        let request = message.loadUnaligned(fromByteOffset: headerSize, as: fuse_init_in.self)
        var flags = UInt64(request.flags)
        if request.flags & initExtended != 0 { flags |= UInt64(request.flags2) << 32 }
        initUnique.store(header.unique, ordering: .releasing)
        offered.store(flags & directIOAllowMmap != 0, ordering: .releasing)
    }

    /// libfuse's INIT reply with the flag added, when this is that reply and the kernel offered it.
    private static func patchedInitReply(_ header: iovec, _ body: iovec) -> fuse_init_out? {
        guard offered.load(ordering: .acquiring), !granted.load(ordering: .acquiring),
              header.iov_len >= MemoryLayout<fuse_out_header>.size,
              body.iov_len >= MemoryLayout<fuse_init_out>.offset(of: \.flags2)! + 4,
              body.iov_len <= MemoryLayout<fuse_init_out>.size,
              let headerBytes = header.iov_base, let bodyBytes = body.iov_base else { return nil }
        let reply = headerBytes.loadUnaligned(as: fuse_out_header.self)
        guard reply.unique == initUnique.load(ordering: .acquiring), reply.error == 0 else { return nil }
        var patched = fuse_init_out()
        withUnsafeMutableBytes(of: &patched) { $0.copyMemory(from: UnsafeRawBufferPointer(start: bodyBytes, count: body.iov_len)) }
        patched.flags |= initExtended
        patched.flags2 |= UInt32(truncatingIfNeeded: directIOAllowMmap >> 32)
        granted.store(true, ordering: .releasing)
        return patched
    }
}
