import Foundation
import Glibc
import Testing
import TrellisCore
import TrellisKeys
import TrellisNames
import TrellisSystem

/// The name service holds the cluster key as the servers do: it will not
/// start without one unless told to serve anyone, takes nothing (shutdown
/// included) from a connection that has not proved it holds the key, and
/// ends a connection whose sealed lines are altered or replayed.
@Suite(.serialized) struct NameServiceAuthJobTests {
    /// Sends `lines` on one raw TCP connection and returns what came back before it closed.
    private func raw(_ address: String, _ lines: [String]) throws -> String {
        let (host, port) = (address.split(separator: ":")[0], address.split(separator: ":")[1])
        let script = "exec 3<>/dev/tcp/\(host)/\(port); printf '%s\\n' \"$@\" >&3; timeout 5 cat <&3"
        return try JobHarness.run(["/bin/bash", "-c", script, "raw"] + lines, timeoutSeconds: 30).output
    }

    @Test func withoutAKeyTheNameServiceStartsOnlyWhenToldToServeAnyone() throws {
        let home = NSTemporaryDirectory() + "trellis-nokey-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let address = "127.0.0.1:\(try freePort())"
        let bare = ["/usr/bin/env", "-u", "TRELLIS_KEY_FILE", "-u", "TRELLIS_AUTH", "HOME=\(home)", JobHarness.trellis, "names"]
        if !FileManager.default.fileExists(atPath: "/etc/trellis/cluster.key") {
            let refused = try JobHarness.run(bare + ["start", "--address", address], timeoutSeconds: 30)
            #expect(refused.status != 0 && refused.combined.contains("will not start without a cluster key") && refused.combined.contains("--insecure"),
                "\(refused.combined)")
        }
        let started = try JobHarness.run(bare + ["start", "--daemon", "--insecure", "--address", address, "--log", home + "/names.log"], timeoutSeconds: 30)
        #expect(started.status == 0, "\(started.combined)")
        defer { _ = try? JobHarness.run(bare + ["stop", "--address", address], timeoutSeconds: 30) }
        #expect((try? String(contentsOfFile: home + "/names.log", encoding: .utf8))?.contains("runs without a cluster key") == true)
        // A process that holds a key will not use it.
        let keyed = NameServiceClient(address: address, timeoutSeconds: 5, authentication: .key(ClusterKey.generate()))
        #expect(throws: TrellisError.self) { try keyed.call(NameRequest(.status)) }
        #expect(try NameServiceClient(address: address, timeoutSeconds: 5, authentication: .none).call(NameRequest(.status)).ok)
    }

    @Test func aKeyedNameServiceTakesNothingFromAConnectionThatHasNotProvedTheKey() throws {
        let names = try NameServiceFixture()
        let honest = NameServiceClient(address: names.address, timeoutSeconds: 5)
        try honest.call(NameRequest(.publish, service: "kept", port: "trellis-port://127.0.0.1:1/2/3", publisher: "honest"))

        // Unproved: a shutdown, a publish, a lookup, a hello then garbage. Each is refused and its connection closed.
        let answer = try raw(names.address, [#"{"operation":"shutdown"}"#, #"{"operation":"status"}"#])
        #expect(answer.contains("refusedConnection") && answer.contains("it asks for the cluster key"), "\(answer)")
        #expect(!answer.contains(#""ok":true"#), "nothing after the refusal is answered: \(answer)")
        _ = try raw(names.address, [#"{"operation":"publish","service":"kept","port":"evil","publisher":"evil"}"#])
        _ = try raw(names.address, [#"{"operation":"hello","nonce":"00112233445566778899aabbccddeeff"}"#, #"{"operation":"prove","proof":"00"}"#])
        let stranger = NameServiceClient(address: names.address, timeoutSeconds: 5, authentication: .key(ClusterKey.generate()))
        #expect(throws: TrellisError.self) { try stranger.call(NameRequest(.unpublish, service: "kept", publisher: "honest")) }
        #expect(try honest.call(NameRequest(.lookup, service: "kept")).port == "trellis-port://127.0.0.1:1/2/3", "the service serves on, unchanged")
        #expect(names.log.contains("refused a connection from 127.0.0.1"), "\(names.log)")

    }
}
