import TrellisFSProtocol

/// Attributes: setattr with POSIX's rules on who may change what, and statfs.
extension RequestHandler {
    func setAttributes(_ handle: ObjectHandle, _ changes: AttributeChanges, _ credentials: Credentials) throws -> ObjectAttributes {
        let current = try object(handle)
        let isOwner = credentials.uid == current.uid || credentials.isSuperuser
        var changes = changes
        if changes.mode != nil {
            guard isOwner else { throw FSError(.notPermitted, "uid \(credentials.uid) does not own \(handle) and may not chmod it") }
            // A non-member owner cannot set setgid.
            if !credentials.isSuperuser, !credentials.isMember(of: changes.gid ?? current.gid) { changes.mode! &= ~UInt32(0o2000) }
        }
        if let uid = changes.uid, uid != current.uid, !credentials.isSuperuser {
            throw FSError(.notPermitted, "only root may give \(handle) to uid \(uid)")
        }
        if let gid = changes.gid, gid != current.gid, !credentials.isSuperuser {
            guard credentials.uid == current.uid, credentials.isMember(of: gid) else {
                throw FSError(.notPermitted, "uid \(credentials.uid) may not give \(handle) to group \(gid)")
            }
        }
        if let distribution = changes.distribution {
            guard current.kind == .directory else {
                throw FSError(.invalidArgument, "only a directory's default distribution can change; \(handle) is a \(current.kind)")
            }
            guard isOwner else { throw FSError(.notPermitted, "uid \(credentials.uid) does not own directory \(handle)") }
            let servers = context.configuration.servers.count
            guard distribution.datafileCount <= servers, distribution.firstServer < servers else {
                throw FSError(.invalidArgument, "\(distribution) needs more than the \(servers) servers of this file system")
            }
        }
        if changes.accessTime != nil || changes.modifyTime != nil {
            guard isOwner || current.allows(2, for: credentials) else {
                throw FSError(.permissionDenied, "uid \(credentials.uid) may not set the times of \(handle)")
            }
        }
        return try context.metadata.update(handle, changes, at: context.now())
    }

    func statistics() throws -> FSStatistics {
        let space = try context.bstreams.space()
        return FSStatistics(totalBytes: space.totalBytes, freeBytes: space.freeBytes, objectCount: UInt64(try context.metadata.objectCount()))
    }
}
