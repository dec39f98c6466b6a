import TrellisFSProtocol

/// Attributes: setattr with POSIX's rules on who may change what (Linux's
/// setattr_prepare and chown_common), and statfs.
extension RequestHandler {
    func setAttributes(_ handle: ObjectHandle, _ changes: AttributeChanges, _ credentials: Credentials) throws -> ObjectAttributes {
        let current = try object(handle)
        try checkOwnership(changes, of: current, credentials)
        var changes = changes
        if let mode = changes.mode {
            // Others may only drop set-ID bits, as a write or truncate of theirs does.
            let owns = credentials.isSuperuser || credentials.uid == current.uid
            guard owns || (SetIDBits.onlyDropped(from: current.mode, to: mode) && current.allows(2, for: credentials)) else {
                throw FSError(.notPermitted, "uid \(credentials.uid) does not own \(handle) and may not chmod it")
            }
            // No one outside the (new) group but root sets setgid.
            if !credentials.isSuperuser, !credentials.isMember(of: changes.gid ?? current.gid) { changes.mode = mode & ~SetIDBits.group }
        }
        if changes.uid != nil || changes.gid != nil, current.kind != .directory {
            // A new owner or group drops set-user-ID, and set-group-ID where it means "run as the group".
            changes.mode = SetIDBits.dropped(from: changes.mode ?? current.mode, by: credentials, group: current.gid)
        }
        if let distribution = changes.distribution {
            guard current.kind == .directory else {
                throw FSError(.invalidArgument, "only a directory's default distribution can change; \(handle) is a \(current.kind)")
            }
            guard credentials.isSuperuser || credentials.uid == current.uid else {
                throw FSError(.notPermitted, "uid \(credentials.uid) does not own directory \(handle)")
            }
            try context.configuration.check(distribution)
        }
        try checkTimes(changes, of: current, credentials)
        return try context.metadata.update(handle, changes, at: context.now())
    }

    /// chown(2): only root gives an object away or to a group it is not in;
    /// the owner may name itself and its own groups.
    private func checkOwnership(_ changes: AttributeChanges, of current: ObjectAttributes, _ credentials: Credentials) throws {
        guard !credentials.isSuperuser else { return }
        let owns = credentials.uid == current.uid
        if let uid = changes.uid, !(owns && uid == current.uid) {
            throw FSError(.notPermitted, "uid \(credentials.uid) may not give \(current.handle) to uid \(uid)")
        }
        if let gid = changes.gid, !(owns && (gid == current.gid || credentials.isMember(of: gid))) {
            throw FSError(.notPermitted, "uid \(credentials.uid) may not give \(current.handle) to group \(gid)")
        }
    }

    /// utimensat(2): explicit times are the owner's to set; anyone who may
    /// write the object may set both to now, or its modification time alone
    /// (the stamp a write or truncate leaves). Linux counts one time set to
    /// now beside one left alone as explicit.
    private func checkTimes(_ changes: AttributeChanges, of current: ObjectAttributes, _ credentials: Credentials) throws {
        guard !credentials.isSuperuser, credentials.uid != current.uid, changes.accessTime != nil || changes.modifyTime != nil else { return }
        switch (changes.accessTime, changes.modifyTime) {
        case (.now, .now), (nil, .now):
            guard current.allows(2, for: credentials) else {
                throw FSError(.permissionDenied, "uid \(credentials.uid) may not write \(current.handle) and so not touch its times")
            }
        default:
            throw FSError(.notPermitted, "uid \(credentials.uid) does not own \(current.handle) and may not set its times")
        }
    }

    func statistics() throws -> FSStatistics {
        let space = try context.bstreams.space()
        return FSStatistics(totalBytes: space.totalBytes, freeBytes: space.freeBytes, objectCount: UInt64(try context.metadata.objectCount()))
    }
}
