import TrellisCore
import TrellisLauncher

extension NamespaceCluster {
    /// Where this cluster's agent table and key live: its own folder, not the user's home.
    public var agentEnvironment: [String: String] {
        ["TRELLIS_AGENTS_FILE": folder + "/agents", "TRELLIS_AGENT_KEY_FILE": folder + "/agent.key"]
    }

    /// `trellis agents up` on every host, from the first (before a benchmark's timing).
    public func startAgents(trellis: String) throws {
        let up = try runAsUser(
            on: 0, [trellis, "agents", "up", "--hosts", hosts.map(\.name).joined(separator: ","), "--ssh", "ssh -F \(sshConfig)"],
            environment: agentEnvironment, timeoutSeconds: 300)
        guard up.status == 0 else { throw TrellisError(.launchFailed, "trellis agents up failed: \(up.combined)") }
    }

    /// `trellis agents down` (tearing the cluster down would end them anyway).
    public func stopAgents(trellis: String) {
        _ = try? runAsUser(on: 0, [trellis, "agents", "down"], environment: agentEnvironment, timeoutSeconds: 120)
    }
}
