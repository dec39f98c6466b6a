import TrellisFSProtocol

extension ScanEntries: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Page<EntryRecord> {
        try handler.requireSuperuser(call.credentials)
        let page = try handler.context.metadata.entryRecords(after: after, limit: RequestHandler.scanPage(limit))
        return Page(entries: page.records, more: page.more)
    }
}
