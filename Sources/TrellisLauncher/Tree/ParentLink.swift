import Glibc
import TrellisCore

/// A proxy's side of a link's handshake (`LinkHandshake`): connects to its
/// parent, answers the challenge with what it claims and its proof of the
/// job's key, and checks the parent's proof; the link it returns is sealed.
enum ParentLink {
    /// What the proxy says it is.
    enum Claim {
        /// The proxy at this tree position.
        case position(Int)
        /// A proxy Slurm started, on `host`, listening on `port`, asking for its place.
        case join(host: String, port: Int)
    }

    /// A sealed link to the parent at `address`, or why there is none.
    static func open(_ address: String, claim: Claim, key: JobKey, deadline: Deadline) throws -> Link {
        let link = try Link.connect(to: address, seconds: 30)
        do {
            guard case .challenge(let parentNonce) = try next(on: link, from: address, deadline: deadline) else {
                throw TrellisError(.protocolViolation, "the parent at \(address) did not open the link with a challenge")
            }
            let childNonce = LinkHandshake.nonce()
            let words: String
            switch claim {
            case .position(let position):
                words = LinkHandshake.claim(position: position)
                let proof = LinkHandshake.childProof(key, parentNonce: parentNonce, childNonce: childNonce, claim: words)
                link.send(.hello(position: position, nonce: childNonce, proof: proof))
            case .join(let host, let port):
                words = LinkHandshake.claim(host: host, port: port)
                let proof = LinkHandshake.childProof(key, parentNonce: parentNonce, childNonce: childNonce, claim: words)
                link.send(.join(host: host, port: port, nonce: childNonce, proof: proof))
            }
            guard case .welcome(let proof) = try next(on: link, from: address, deadline: deadline),
                AgentHandshake.same(proof, LinkHandshake.parentProof(key, parentNonce: parentNonce, childNonce: childNonce, claim: words))
            else {
                throw TrellisError(.accessRefused, "the parent at \(address) did not prove it holds the job's key: nothing taken from it")
            }
            link.startSealing(key, parentNonce: parentNonce, childNonce: childNonce, asParent: false)
            return link
        } catch {
            link.shut("")
            throw error
        }
    }

    /// The next message on a link still in its handshake.
    private static func next(on link: Link, from address: String, deadline: Deadline) throws -> LinkMessage {
        while !deadline.hasPassed {
            if !link.hasBufferedInput {
                var watched = [pollfd(fd: link.fd, events: Int16(POLLIN), revents: 0)]
                _ = poll(&watched, 1, 200)
            }
            if let message = link.receive().first { return message }
            guard link.isOpen else {
                throw TrellisError(.accessRefused, "the parent at \(address) closed the link (\(link.closeReason)): it refuses a proxy without the job's key")
            }
        }
        throw TrellisError(.timedOut, "the parent at \(address) did not finish the link's handshake in time")
    }
}
