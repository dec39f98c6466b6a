/// The set-user-ID and set-group-ID bits of a mode, and the rule by which
/// they go: a write, a truncate or a new owner drops them, as on Linux.
public enum SetIDBits {
    public static let user: UInt32 = 0o4000
    public static let group: UInt32 = 0o2000

    /// `mode` without set-user-ID, and without set-group-ID where group
    /// execute makes it mean "run as the group" (without it the bit marks
    /// mandatory locking and stays).
    public static func dropped(from mode: UInt32) -> UInt32 {
        var mode = mode & ~user
        if mode & 0o010 != 0 { mode &= ~group }
        return mode
    }

    /// Whether going from `current` to `wanted` only drops set-ID bits:
    /// the one mode change that anyone who may write an object may make.
    public static func onlyDropped(from current: UInt32, to wanted: UInt32) -> Bool {
        let both = user | group
        return wanted & ~both == current & ~both && wanted & both & ~current == 0
    }

    /// Whether a write or truncate by `credentials` must first drop bits of
    /// `mode` (root keeps them: Linux's CAP_FSETID).
    public static func mustDrop(from mode: UInt32, writer credentials: Credentials) -> Bool {
        !credentials.isSuperuser && dropped(from: mode) != mode
    }
}
