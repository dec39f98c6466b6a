import TrellisFSConnection
import TrellisFSProtocol

extension ProveIdentity: ServedOperation {
    /// Opens the credential with this host's munged; the serving loop holds
    /// the connection to the identity it proves.
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Credentials {
        guard case .munge(let socket) = handler.context.identity.proofs else {
            throw FSError(.notSupported, "server \(handler.context.serverIndex) takes no identity proofs: it believes what its clients state (identity = \"claimed\")")
        }
        let proof = try Munge.decode(credential, socket: socket)
        let expected = ProveIdentity.payload(fileSystem: handler.context.configuration.name)
        guard proof.payload == expected else {
            throw FSError(.notPermitted, "the MUNGE credential was made for \"\(proof.payload)\", not for \"\(expected)\"")
        }
        return Credentials(uid: proof.uid, gid: proof.gid)
    }
}
