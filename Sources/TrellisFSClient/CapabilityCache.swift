import Synchronization
import TrellisCore
import TrellisFSProtocol

/// The capabilities a client holds, by file and user, each until half its
/// life has passed by this client's clock (so the servers' clocks need not
/// agree with it); a request refused for its capability drops the one it
/// used. Shared by a client and its siblings (the mount's threads), so a
/// file opened once is not opened again by every thread that reads it.
final class CapabilityCache: Sendable {
    private struct Key: Hashable {
        let file: ObjectHandle
        let user: Credentials
    }
    private struct Held {
        let capability: Capability
        let renewAt: Deadline
    }
    private let held = Mutex<[Key: Held]>([:])
    /// More files than this held at once: the oldest are dropped first (a tree copy opens many).
    static let mostHeld = 4096

    /// A capability granting `rights` (none: any) on every datafile of
    /// `file` for `user`: a held one, or one `open` gets from the file's owner.
    func capability(
        for file: ObjectAttributes, _ rights: Capability.Rights, user: Credentials, open: (Capability.Rights) throws -> Capability?
    ) throws -> Capability? {
        let key = Key(file: file.handle, user: user)
        let current = held.withLock { held -> Held? in
            guard let entry = held[key], !entry.renewAt.hasPassed else { return nil }
            return entry
        }
        if let current, current.capability.grants(rights, on: file.datafiles) { return current.capability }
        // Ask for what is held as well, so a file read and written is opened once for both;
        // when that much is not allowed, for what is needed alone.
        let wanted = rights.isEmpty ? Capability.Rights.read : rights
        let together = wanted.union(current?.capability.rights ?? [])
        var got: Capability?
        do {
            got = try open(together)
        } catch let error as FSError where error.code == .permissionDenied && (together != wanted || rights.isEmpty) {
            got = try open(rights.isEmpty ? .write : wanted)
        }
        guard let got else { return nil }
        keep(got, for: file.handle, user: user)
        return got
    }

    /// Whether a capability granting `rights` on `file` for `user` is held
    /// and not due for renewal (on the datafiles the file had when it was given).
    func holds(_ rights: Capability.Rights, on file: ObjectHandle, user: Credentials) -> Bool {
        held.withLock { held in
            guard let entry = held[Key(file: file, user: user)], !entry.renewAt.hasPassed else { return false }
            return rights.isSubset(of: entry.capability.rights)
        }
    }

    /// Keeps `capability`, got for `file` and `user`, for half its life.
    func keep(_ capability: Capability, for file: ObjectHandle, user: Credentials) {
        let lifetime = max(1, capability.expires - capability.issuedMilliseconds / 1000)
        held.withLock { held in
            if held.count >= Self.mostHeld {
                let oldest = held.sorted { $0.value.renewAt < $1.value.renewAt }.prefix(Self.mostHeld / 4).map(\.key)
                for key in oldest { held[key] = nil }
            }
            held[Key(file: file, user: user)] = Held(capability: capability, renewAt: .after(seconds: Double(lifetime) / 2))
        }
    }

    /// Forgets what is held for `file` and `user` (refused: expired, revoked, or the file spread since).
    func forget(_ file: ObjectHandle, user: Credentials) {
        _ = held.withLock { $0.removeValue(forKey: Key(file: file, user: user)) }
    }
}
