import Synchronization
import TrellisFSProtocol

/// What a data server has been told no longer holds: per datafile, the
/// moment (by its owner's clock, in milliseconds) before which capabilities
/// for it were issued in vain. An entry is kept as long as a capability
/// issued before it could still be unexpired, then forgotten; nothing is
/// kept on disk: a restarted server loses its revocations, and the
/// capabilities they named keep serving until they expire (at most
/// `capability_lifetime_seconds`).
public final class CapabilityRevocations: Sendable {
    private struct Revoked {
        var issuedBeforeMilliseconds: Int64
        /// Past this second no capability issued before the revocation is unexpired.
        var forgetAfterSeconds: Int64
    }
    private let revoked = Mutex<[ObjectHandle: Revoked]>([:])
    /// More entries than this: the expired ones are swept out first.
    private static let sweepAbove = 65_536

    /// An empty record.
    public init() {}

    /// Capabilities for `datafiles` issued before `issuedBeforeMilliseconds` no longer hold.
    func revoke(_ datafiles: [ObjectHandle], issuedBeforeMilliseconds: Int64, now: Timestamp, lifetimeSeconds: Int64) {
        // Owners' clocks may run ahead of this one: keep an entry a lifetime past the later of the two.
        let forget = max(now.seconds, issuedBeforeMilliseconds / 1000) + lifetimeSeconds + 60
        revoked.withLock { revoked in
            if revoked.count > Self.sweepAbove { revoked = revoked.filter { $0.value.forgetAfterSeconds >= now.seconds } }
            for datafile in datafiles {
                let before = max(issuedBeforeMilliseconds, revoked[datafile]?.issuedBeforeMilliseconds ?? 0)
                revoked[datafile] = Revoked(issuedBeforeMilliseconds: before, forgetAfterSeconds: forget)
            }
        }
    }

    /// Why `capability` no longer holds for `datafiles`, or nil when it does.
    func refusal(of capability: Capability, on datafiles: [ObjectHandle], now: Timestamp) -> String? {
        revoked.withLock { revoked in
            for datafile in datafiles {
                guard let entry = revoked[datafile], entry.forgetAfterSeconds >= now.seconds,
                    capability.issuedMilliseconds < entry.issuedBeforeMilliseconds
                else { continue }
                return "its capability (for file \(capability.object), uid \(capability.uid)) was revoked: the file's owner or mode changed after it was issued"
            }
            return nil
        }
    }
}
