/// The set-user-ID and set-group-ID bits of a mode, and the rule by which
/// they go: a write, a truncate or a new owner drops them, as on Linux.
public enum SetIDBits {
    /// Set-user-ID (S_ISUID).
    public static let user: UInt32 = 0o4000
    /// Set-group-ID (S_ISGID).
    public static let group: UInt32 = 0o2000

    /// `mode` without set-user-ID, and without set-group-ID where group
    /// execute makes it mean "run as the group" or where `credentials` are
    /// neither root nor in the object's `group` (without group execute the
    /// bit marks mandatory locking, which only its group may keep), as
    /// Linux's setattr_should_drop_sgid decides.
    public static func dropped(from mode: UInt32, by credentials: Credentials, group: UInt32) -> UInt32 {
        var mode = mode & ~user
        if mode & 0o010 != 0 || !(credentials.isSuperuser || credentials.isMember(of: group)) { mode &= ~Self.group }
        return mode
    }

    /// Whether going from `current` to `wanted` only drops set-ID bits:
    /// the one mode change that anyone who may write an object may make.
    public static func onlyDropped(from current: UInt32, to wanted: UInt32) -> Bool {
        let both = user | group
        return wanted & ~both == current & ~both && wanted & both & ~current == 0
    }

    /// What a write or truncate by `credentials` leaves of a file's mode, when
    /// it must change (root keeps the bits: Linux's CAP_FSETID).
    public static func afterWrite(of file: ObjectAttributes, by credentials: Credentials) -> UInt32? {
        guard !credentials.isSuperuser else { return nil }
        let mode = dropped(from: file.mode, by: credentials, group: file.gid)
        return mode == file.mode ? nil : mode
    }
}
