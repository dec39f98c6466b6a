/// What a file's metadata owner lets one caller do to the file's datafiles,
/// until a moment, signed with a key only the servers hold (OrangeFS's
/// `PVFS_capability`): the owner checks the caller's permissions once, at
/// open, and every data server then checks the signature, the expiry, the
/// rights and that each datafile asked for is one of the file's, on every
/// request. A capability for one file cannot touch another's datafiles; a
/// servers' own capability (`Rights.anyDatafile`) is made for requests one
/// server sends another.
public struct Capability: Sendable, Hashable, WireRecord {
    /// What the holder may do.
    public struct Rights: OptionSet, Sendable, Hashable, WireCodable, CustomStringConvertible {
        public let rawValue: UInt8
        /// A rights set of these bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Read the datafiles' bytes.
        public static let read = Rights(rawValue: 1)
        /// Write them, change their sizes.
        public static let write = Rights(rawValue: 2)
        /// Delete them: given with the reply that drops a file's last link.
        public static let remove = Rights(rawValue: 4)
        /// Any request on any datafile: servers' requests to one another.
        public static let anyDatafile = Rights(rawValue: 0x80)

        /// "read", "read+write", ...
        public var description: String {
            let names: [(Rights, String)] = [(.read, "read"), (.write, "write"), (.remove, "remove"), (.anyDatafile, "any datafile")]
            let held = names.filter { contains($0.0) }.map(\.1)
            return held.isEmpty ? "none" : held.joined(separator: "+")
        }

        public func encode(into writer: inout WireWriter) { writer.write(rawValue) }
        public init(from reader: inout WireReader) throws { self.init(rawValue: try reader.read()) }
    }

    /// The file it was made for (`ObjectHandle(rawValue: 0)` in a servers' own).
    public var object: ObjectHandle
    /// The datafiles it covers (none listed in a servers' own, which covers all).
    public var datafiles: [ObjectHandle]
    /// What it allows.
    public var rights: Rights
    /// Whom it was made for (logged when it is refused).
    public var uid: UInt32
    /// Their group.
    public var gid: UInt32
    /// When it was made, in milliseconds since the epoch by the issuing
    /// server's clock (fine enough that a revocation at a chmod spares a
    /// capability asked for just after it), and when it ends, in seconds; a
    /// holder renews it at half its life (by its own clock, so the two
    /// clocks need not agree).
    public var issuedMilliseconds: Int64
    public var expires: Int64
    /// The server that made it.
    public var issuer: UInt32
    /// HMAC-SHA256 of everything above, with the servers' capability key.
    public var signature: [UInt8]

    /// A capability as its fields say; `signature` is checked by the servers, not here.
    public init(
        object: ObjectHandle, datafiles: [ObjectHandle], rights: Rights, uid: UInt32, gid: UInt32, issuedMilliseconds: Int64, expires: Int64, issuer: UInt32,
        signature: [UInt8] = []
    ) {
        self.object = object
        self.datafiles = datafiles
        self.rights = rights
        self.uid = uid
        self.gid = gid
        self.issuedMilliseconds = issuedMilliseconds
        self.expires = expires
        self.issuer = issuer
        self.signature = signature
    }

    /// The most datafiles one capability may list (a file's stripe over every server).
    public static let maximumDatafiles = 1 << 16

    /// How it is written on the wire: its fields in order.
    public static let wireForm = WireForm<Self>(
        \.object, \.datafiles, \.rights, \.uid, \.gid, \.issuedMilliseconds, \.expires, \.issuer, \.signature,
        make: { object, datafiles, rights, uid, gid, issuedMilliseconds, expires, issuer, signature in
            guard datafiles.count <= maximumDatafiles, signature.count <= 64 else {
                throw FSError(.protocolViolation, "a capability of \(datafiles.count) datafiles and a \(signature.count)-byte signature")
            }
            return Capability(
                object: object, datafiles: datafiles, rights: rights, uid: uid, gid: gid, issuedMilliseconds: issuedMilliseconds, expires: expires, issuer: issuer,
                signature: signature)
        })

    /// The bytes the signature covers: every field but the signature, as on the wire.
    public var signedBytes: [UInt8] {
        var unsigned = self
        unsigned.signature = []
        var writer = WireWriter(capacity: 64 + 8 * datafiles.count)
        writer.write(unsigned)
        return Array(writer.buffer.readableBytesView)
    }

    /// Whether it grants `needed` on every one of `handles` (signature and expiry aside).
    public func grants(_ needed: Rights, on handles: [ObjectHandle]) -> Bool {
        if rights.contains(.anyDatafile) { return true }
        guard rights.isSuperset(of: needed) else { return false }
        if handles.count <= 4 { return handles.allSatisfy(datafiles.contains) }
        let covered = Set(datafiles)
        return handles.allSatisfy(covered.contains)
    }
}
