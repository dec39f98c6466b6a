import TrellisFSProtocol
import TrellisFSStorage

/// What fsck asks of each server: scans of everything it holds, and the
/// small repairs that only this server can make. Only uid 0 may ask.
extension RequestHandler {
    func maintain(_ request: FSRequest, _ credentials: Credentials) throws -> FSReply {
        guard credentials.isSuperuser else {
            throw FSError(.permissionDenied, "uid \(credentials.uid) may not run maintenance requests on server \(context.serverIndex): only uid 0 may")
        }
        switch request {
        case .scanObjects(let after, let limit):
            let page = try context.metadata.objects(after: after, limit: Self.scanPage(limit))
            return .objects(page.objects, more: page.more)
        case .scanEntries(let after, let limit):
            let page = try context.metadata.entryRecords(after: after, limit: Self.scanPage(limit))
            return .entryRecords(page.records, more: page.more)
        case .orphanBstreams(let graceSeconds, let remove):
            return .handles(try orphanBstreams(graceSeconds: Int64(graceSeconds), remove: remove))
        case .setLinkCount(let handle, let count):
            guard count >= 1 else { throw FSError(.invalidArgument, "a link count of 0 would leave object \(handle) nameless: remove it instead") }
            return .attributes(try context.metadata.setLinkCount(handle, to: count))
        case .restoreDatafiles(let handles):
            try context.metadata.restoreDatafiles(handles, at: context.now())
            return .done
        case .pooledDatafiles:
            return .handles(try context.metadata.pooledDatafiles())
        default:
            throw FSError(.invalidArgument, "operation \(request.operation) is not a maintenance request")
        }
    }

    private static func scanPage(_ limit: UInt32) -> Int { Int(min(max(limit, 1), 10_000)) }

    /// Bstreams whose datafile object is gone, untouched for `graceSeconds`
    /// (a removal's follow-up may not have run yet).
    private func orphanBstreams(graceSeconds: Int64, remove: Bool) throws -> [ObjectHandle] {
        let cutoff = context.now().seconds - graceSeconds
        var orphans: [ObjectHandle] = []
        for datafile in try context.bstreams.storedDatafiles() where try !context.metadata.isDatafile(datafile) {
            // A bstream only ever follows its datafile object, so one without is an orphan for good.
            guard let changed = context.bstreams.lastChange(datafile: datafile), changed <= cutoff else { continue }
            if remove { try context.bstreams.remove(datafile: datafile) }
            orphans.append(datafile)
        }
        return orphans
    }
}
