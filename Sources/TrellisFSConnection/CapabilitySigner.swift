import Crypto
import Synchronization
import TrellisFSProtocol
import TrellisRuntime

/// Signs capabilities and checks them, with the key the servers share: a
/// key file of its own (`capability_key_file`, kept on the servers' hosts
/// only), or, without one, a key derived from the cluster key (then any
/// process holding the cluster key could sign, which docs/17-security.md
/// spells out). (Sendable: the key is never changed after it is made.)
public final class CapabilitySigner: @unchecked Sendable {
    private let key: SymmetricKey
    /// The servers' own capability, made again at half its life.
    private let serversOwn = Mutex<(capability: Capability, renewAt: Int64)?>(nil)

    /// What the key is derived for, so a capability's signature can stand for no other code made with the same secret.
    public static let purpose = "trellis file-system capabilities v1"
    /// How long the servers' own capabilities last.
    public static let serversLifetimeSeconds: Int64 = 600

    /// A signer whose key is derived from `secret` (the cluster key, or the capability key file's).
    public init(secret: ClusterKey) {
        key = secret.derivedKey(for: Self.purpose)
    }

    /// `capability` with its signature.
    public func signed(_ capability: Capability) -> Capability {
        var signed = capability
        signed.signature = Array(HMAC<SHA256>.authenticationCode(for: capability.signedBytes, using: key))
        return signed
    }

    /// Whether the signature is this key's over these fields (compared in
    /// constant time). One found genuine lately is known without its HMAC
    /// again: a server's own capability comes with every change it relays
    /// to a copy, and checking it each time was a twentieth of the copy's work.
    public func isGenuine(_ capability: Capability) -> Bool {
        guard capability.signature.count == SHA256.byteCount else { return false }
        let signedBytes = capability.signedBytes
        let seen = signedBytes + capability.signature
        if recentlyGenuine.withLock({ $0.contains(seen) }) { return true }
        guard HMAC<SHA256>.isValidAuthenticationCode(capability.signature, authenticating: signedBytes, using: key) else { return false }
        recentlyGenuine.withLock { known in
            if known.count >= Self.recentlyGenuineKept { known.removeAll(keepingCapacity: true) }
            known.insert(seen)
        }
        return true
    }

    /// Capabilities found genuine lately, each as its signed bytes followed by its signature.
    private let recentlyGenuine = Mutex<Set<[UInt8]>>([])
    /// How many it keeps before it starts again.
    static let recentlyGenuineKept = 1024

    /// A capability for any request on any datafile, for the requests one
    /// server sends another (relayed changes, fan-outs, resyncs), made once
    /// and again at half its life.
    public func serversCapability(issuer: Int, now: Timestamp) -> Capability {
        serversOwn.withLock { own in
            if let own, now.seconds < own.renewAt { return own.capability }
            let made = signed(
                Capability(
                    object: ObjectHandle(rawValue: 0), datafiles: [], rights: .anyDatafile, uid: 0, gid: 0, issuedMilliseconds: now.milliseconds,
                    expires: now.seconds + Self.serversLifetimeSeconds, issuer: UInt32(issuer)))
            own = (made, now.seconds + Self.serversLifetimeSeconds / 2)
            return made
        }
    }

    /// Why `capability` does not allow `needed` on `datafiles` at `now`, or nil when it does.
    public func refusal(of capability: Capability?, needed: Capability.Rights, on datafiles: [ObjectHandle], now: Timestamp) -> String? {
        guard let capability else { return "it carries no capability" }
        guard isGenuine(capability) else { return "its capability is not signed by this file system's servers (forged or altered)" }
        guard now.seconds < capability.expires else {
            return "its capability (made by server \(capability.issuer) for uid \(capability.uid)) expired \(now.seconds - capability.expires) s ago"
        }
        guard capability.grants(needed, on: datafiles) else {
            let named = datafiles.prefix(3).map(\.description).joined(separator: ", ")
            return "its capability (for file \(capability.object), \(capability.rights), uid \(capability.uid)) does not grant \(needed) on datafile(s) \(named)"
        }
        return nil
    }
}
