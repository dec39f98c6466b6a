import Testing
import TrellisSystem

/// The address a process listens on when its name service is elsewhere:
/// the one its packets there leave from, as the routing table says.
struct ListenAddressTests {
    @Test func loopbackLeadsToLoopback() {
        #expect(IPv4Address.localAddress(toward: "127.0.0.1:7117") == "127.0.0.1")
        #expect(IPv4Address.localAddress(toward: "localhost:7117") == "127.0.0.1")
    }

    @Test(.enabled(if: (try? IPv4Address.ofThisHost()) != nil, "this host has no address but loopback"))
    func anAddressOfThisHostLeadsToItself() throws {
        let own = try IPv4Address.ofThisHost()
        #expect(IPv4Address.localAddress(toward: "\(own):7117") == own)
    }

    @Test func noRouteAndNoHostGiveNil() {
        #expect(IPv4Address.localAddress(toward: "no-such-host.invalid:7117") == nil)
        #expect(IPv4Address.localAddress(toward: "not an address") == nil)
    }
}
