import TrellisFSProtocol
import TrellisFSStorage

/// What fsck asks of each server: scans of everything it holds, and the
/// small repairs that only this server can make. Only uid 0 may ask.
extension RequestHandler {
    func requireSuperuser(_ credentials: Credentials) throws {
        guard credentials.isSuperuser else {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not run maintenance requests on server \(context.serverIndex): only uid 0 may")
        }
    }

    static func scanPage(_ limit: UInt32) -> Int { Int(min(max(limit, 1), 10_000)) }

    /// Bstreams whose datafile object is gone, untouched for `graceSeconds`
    /// (a removal's follow-up may not have run yet).
    func orphanBstreams(graceSeconds: Int64, remove: Bool) throws -> [ObjectHandle] {
        let cutoff = context.now().seconds - graceSeconds
        var orphans: [ObjectHandle] = []
        for datafile in try context.bstreams.storedDatafiles() where try !context.metadata.isDatafile(datafile) {
            // A bstream only ever follows its datafile object, so one without is an orphan for good.
            guard let changed = context.bstreams.lastChange(datafile: datafile), changed <= cutoff else { continue }
            if remove { try dropBstreams([datafile]) }
            orphans.append(datafile)
        }
        return orphans
    }
}
