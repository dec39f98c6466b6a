import TrellisCore
import TrellisFSConnection
import TrellisFSProtocol

/// One replica group as its copies tell it (`trellis fs replicas`).
public struct ReplicaGroupReport: Sendable {
    /// One copy: where it is served, and what it said (nil: it did not answer).
    public struct Copy: Sendable {
        public var serviceName: String
        public var status: CopyStatus?
        public var error: String?
    }

    /// The replica group (its handles' server number).
    public var group: Int
    /// Every copy of the group, as placed (the first placed primary first).
    public var copies: [Copy]

    /// The copy that serves as primary in the newest epoch any copy told of.
    public var primary: CopyStatus? {
        let answered = copies.compactMap(\.status)
        let newest = answered.map(\.epoch).max()
        return answered.first { $0.role == .primary && $0.epoch == newest }
    }

    /// The group's health: `healthy` when a primary answers, every member
    /// is good as it sees them and every copy says it serves in the group;
    /// `degraded` when a primary answers but a copy is out (the group has
    /// fewer copies than placed); `unavailable` when no primary answers.
    public var health: String {
        guard let primary else { return "unavailable" }
        let good = primary.memberStates.filter { $0.state == .good }.count
        let serving = copies.filter { $0.status?.role == .primary || $0.status?.role == .secondary }.count
        return good == copies.count - 1 && serving == copies.count ? "healthy" : "degraded"
    }
}

extension FileSystemClient {
    /// Asks every copy of every replica group how it stands; a copy that
    /// does not answer within `timeoutSeconds` is reported with its error.
    public func replicaStatus(timeoutSeconds: Double = 2) -> [ReplicaGroupReport] {
        configuration.servers.map { server in
            let copies = server.candidates.map { serviceName in
                let line = ServerConnection(
                    index: Int(server.index), serviceName: serviceName, runtime: runtime, requestIDs: requestIDs, identityProof: identityProof)
                defer { line.drop() }
                do {
                    let status = try line.call(GetReplicaStatus(group: server.index), credentials: credentials, deadline: .after(seconds: timeoutSeconds)).reply
                    return ReplicaGroupReport.Copy(serviceName: serviceName, status: status)
                } catch {
                    return ReplicaGroupReport.Copy(serviceName: serviceName, status: nil, error: (error as? FSError)?.message ?? "\(error)")
                }
            }
            return ReplicaGroupReport(group: Int(server.index), copies: copies)
        }
    }
}
