import Foundation
import Testing
import TrellisCore
@testable import TrellisLauncher
import TrellisSystem

/// The job key on the links of a job's tree: a proxy's side (`ParentLink`)
/// real over loopback TCP against a parent played here by hand, and the
/// seals of frames. The same key seals the link; a proxy or a parent
/// without it gets nothing; a frame altered, replayed, reordered or taken
/// from another link does not open.
struct LinkHandshakeTests {
    private func nextMessage(_ link: Link) -> LinkMessage? {
        let deadline = Deadline.after(seconds: 10)
        while !deadline.hasPassed && link.isOpen {
            if let message = link.receive().first { return message }
            var readable = pollfd(fd: link.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&readable, 1, 100)
        }
        return nil
    }

    /// What the proxy's thread ended with; read once the thread is joined.
    private final class Outcome: @unchecked Sendable {
        var result: Result<Link, Error>?
    }

    /// A listener, a proxy connecting to it with `childKey` on a thread, and the accepted link.
    private func connect(childKey: JobKey, claim: ParentLink.Claim) throws -> (Link, () -> Result<Link, Error>) {
        let listener = try LinkListener(host: "127.0.0.1")
        let outcome = Outcome()
        let thread = startThread {
            outcome.result = Result { try ParentLink.open("127.0.0.1:\(listener.port)", claim: claim, key: childKey, deadline: .after(seconds: 10)) }
        }
        let deadline = Deadline.after(seconds: 10)
        var accepted: Link?
        while accepted == nil && !deadline.hasPassed {
            var waiting = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&waiting, 1, 100)
            accepted = listener.accept()
        }
        close(listener.fd)
        let link = try #require(accepted)
        return (link, {
            if let thread { pthread_join(thread, nil) }
            return outcome.result!
        })
    }

    @Test func theSameKeySealsTheLinkBothWays() throws {
        let key = JobKey.random()
        let (parent, opened) = try connect(childKey: key, claim: .position(2))
        defer { parent.shut("") }
        let parentNonce = LinkHandshake.nonce()
        parent.send(.challenge(nonce: parentNonce))
        guard case .hello(let position, let childNonce, let proof) = try #require(nextMessage(parent)) else {
            Issue.record("the proxy did not answer with a hello")
            return
        }
        let claim = LinkHandshake.claim(position: position)
        #expect(position == 2 && proof == LinkHandshake.childProof(key, parentNonce: parentNonce, childNonce: childNonce, claim: claim))
        parent.send(.welcome(proof: LinkHandshake.parentProof(key, parentNonce: parentNonce, childNonce: childNonce, claim: claim)))
        parent.startSealing(key, parentNonce: parentNonce, childNonce: childNonce, asParent: true)
        parent.send(.notice("sealed down"))
        let child = try opened().get()
        defer { child.shut("") }
        #expect(nextMessage(child) == .notice("sealed down"))
        child.send(.fenceEnter(puts: ["k": "v"]))
        #expect(nextMessage(parent) == .fenceEnter(puts: ["k": "v"]))
    }

    @Test func aProxyWithAnotherKeyProvesNothing() throws {
        let key = JobKey.random()
        let (parent, opened) = try connect(childKey: JobKey.random(), claim: .join(host: "n1", port: 4000))
        defer { parent.shut("") }
        let parentNonce = LinkHandshake.nonce()
        parent.send(.challenge(nonce: parentNonce))
        guard case .join(let host, let port, let childNonce, let proof) = try #require(nextMessage(parent)) else {
            Issue.record("the proxy did not answer with a join")
            return
        }
        #expect(proof != LinkHandshake.childProof(key, parentNonce: parentNonce, childNonce: childNonce, claim: LinkHandshake.claim(host: host, port: port)))
        parent.shut("refused")
        let error = #expect(throws: TrellisError.self) { try opened().get() }
        #expect(error?.code == .accessRefused)
    }

    @Test func aParentWithoutTheKeyGetsNoProxy() throws {
        let (parent, opened) = try connect(childKey: JobKey.random(), claim: .position(1))
        defer { parent.shut("") }
        let parentNonce = LinkHandshake.nonce()
        parent.send(.challenge(nonce: parentNonce))
        guard case .hello(let position, let childNonce, _) = try #require(nextMessage(parent)) else {
            Issue.record("the proxy did not answer with a hello")
            return
        }
        // A parent that saw the proxy's proof but holds another key cannot answer it.
        let forged = LinkHandshake.parentProof(JobKey.random(), parentNonce: parentNonce, childNonce: childNonce, claim: LinkHandshake.claim(position: position))
        parent.send(.welcome(proof: forged))
        let error = #expect(throws: TrellisError.self) { try opened().get() }
        #expect(error?.code == .accessRefused && error?.message.contains("did not prove") == true)
    }

    @Test func sealedFramesOpenOnlyOnceInOrderOnTheirOwnLink() throws {
        let key = JobKey.random()
        let (parentNonce, childNonce) = (LinkHandshake.nonce(), LinkHandshake.nonce())
        var sender = LinkSeal(jobKey: key, parentNonce: parentNonce, childNonce: childNonce, direction: .down)
        let length: [UInt8] = [0, 0, 0, 9]
        let first = sender.seal(Array("first".utf8), length: length)
        let second = sender.seal(Array("second".utf8), length: length)
        #expect(!String(decoding: first, as: UTF8.self).contains("first"))
        let receiver = LinkSeal(jobKey: key, parentNonce: parentNonce, childNonce: childNonce, direction: .down)

        var inOrder = receiver
        #expect(inOrder.open(first, length: length) == Array("first".utf8))
        #expect(inOrder.open(second, length: length) == Array("second".utf8))
        #expect(inOrder.open(second, length: length) == nil, "a replayed frame")
        var reordered = receiver
        #expect(reordered.open(second, length: length) == nil, "a frame out of order")
        var altered = receiver
        var flipped = first
        flipped[0] ^= 1
        #expect(altered.open(flipped, length: length) == nil, "an altered frame")
        var relengthed = receiver
        #expect(relengthed.open(first, length: [0, 0, 0, 10]) == nil, "another length")
        var otherLink = LinkSeal(jobKey: key, parentNonce: LinkHandshake.nonce(), childNonce: childNonce, direction: .down)
        #expect(otherLink.open(first, length: length) == nil, "a frame of another link")
        var otherWay = LinkSeal(jobKey: key, parentNonce: parentNonce, childNonce: childNonce, direction: .up)
        #expect(otherWay.open(first, length: length) == nil, "a frame of the other direction")
    }
}
