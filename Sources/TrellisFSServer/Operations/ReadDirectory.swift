import TrellisFSProtocol

extension ReadDirectory: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Page<DirectoryEntry> {
        let page = try handler.readDirectory(handle, after: after, limit: limit, call.credentials)
        return Page(entries: page.entries, more: page.more)
    }
}
