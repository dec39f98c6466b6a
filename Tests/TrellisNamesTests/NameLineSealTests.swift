import Testing
import TrellisKeys
import TrellisNames

/// The seal on a name-service connection's lines: what one side seals the
/// other opens once, in order; a line replayed, altered, moved, sealed for
/// the other direction or with another key does not open.
@Suite struct NameLineSealTests {
    private static func pair(key: ClusterKey = ClusterKey.generate()) -> (client: NameLineSeal, service: NameLineSeal) {
        let (client, service) = (NameServiceHandshake.newNonce(), NameServiceHandshake.newNonce())
        return (NameLineSeal(key: key, client: client, service: service, isService: false), NameLineSeal(key: key, client: client, service: service, isService: true))
    }

    @Test func eachLineOpensOnceInOrderAndOnlyAsSent() {
        var (client, service) = Self.pair()
        let first = client.seal(Array(#"{"operation":"status"}"#.utf8))
        let second = client.seal(Array(#"{"operation":"list"}"#.utf8))
        #expect(service.open(first.dropLast()) == Array(#"{"operation":"status"}"#.utf8))
        #expect(service.open(first.dropLast()) == nil, "replayed")
        var altered = Array(second.dropLast())
        altered[altered.count - 3] ^= 1
        #expect(service.open(altered) == nil, "altered")
        #expect(service.open(second.dropLast()) == Array(#"{"operation":"list"}"#.utf8), "a line that failed leaves the count where it was")

        var (client2, service2) = Self.pair()
        let a = client2.seal(Array("a".utf8)), b = client2.seal(Array("b".utf8))
        #expect(service2.open(b.dropLast()) == nil, "out of order")
        #expect(service2.open(a.dropLast()) != nil)
        let answer = service2.seal(Array("x".utf8))
        #expect(client2.open(answer.dropLast()) == Array("x".utf8))
        var mirror = Self.pair().client
        #expect(mirror.open(answer.dropLast()) == nil, "another connection's nonces")
    }

    @Test func proofsHoldOnlyForTheirKeyNoncesAndSide() {
        let key = ClusterKey.generate()
        let (client, service) = (NameServiceHandshake.newNonce(), NameServiceHandshake.newNonce())
        let proof = NameServiceHandshake.clientProof(key, client: client, service: service)
        #expect(NameServiceHandshake.isClientProof(proof, key, client: client, service: service))
        #expect(!NameServiceHandshake.isServiceProof(proof, key, client: client, service: service), "one side's proof is not the other's")
        #expect(!NameServiceHandshake.isClientProof(proof, ClusterKey.generate(), client: client, service: service))
        #expect(!NameServiceHandshake.isClientProof(proof, key, client: NameServiceHandshake.newNonce(), service: service), "a recorded proof on new nonces")
        #expect(!NameServiceHandshake.isClientProof("zz", key, client: client, service: service))
    }
}
