import Foundation
import Glibc
import TrellisCore
import TrellisLauncher
import TrellisSystem

/// A launch agent (`trellis agents serve`) with a key of the run's own, as
/// `trellis agents up` starts one on each host: the port that starts
/// processes for whoever proves the key. The honest client pings it.
final class AgentUnderAttack: @unchecked Sendable {
    let pid: pid_t
    let port: Int
    private let key = AgentKey.random()

    init(executable: String, folder: String) throws {
        let keyFile = folder + "/agent.key"
        FileManager.default.createFile(atPath: keyFile, contents: Data((key.hex + "\n").utf8), attributes: [.posixPermissions: 0o600])
        let log = folder + "/agent.log"
        pid = try ProcessSpawner.spawn(
            arguments: ["/bin/sh", "-c", "exec \"$0\" agents serve --foreground --port 0 < \"$1\"", executable, keyFile],
            environment: ProcessEnvironment.current(), logPath: log)
        var words: [String] = []
        _ = poll(until: .after(seconds: 30), intervalMicroseconds: 50_000) {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            words = text.split(separator: "\n").first { $0.hasPrefix("agent ") }.map { $0.split(separator: " ").map(String.init) } ?? []
            return words.count == 4
        }
        guard words.count == 4, let port = Int(words[2]) else {
            kill(pid, SIGTERM)
            _ = ProcessSpawner.waitForExit(pid)
            throw BenchmarkFailure("the agent reported no port; see \(log)")
        }
        self.port = port
    }

    /// An honest ping, with the key.
    func serves() -> Bool {
        (try? AgentClient.ask(host: "127.0.0.1", port: port, key: key, request: .ping, seconds: 10))?.hasPrefix("agent ") == true
    }

    func stop() {
        kill(pid, SIGTERM)
        _ = ProcessSpawner.waitForExit(pid)
    }
}
