import TrellisFSProtocol

extension ReadDirectoryWithAttributes: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Page<DetailedEntry> {
        let page = try handler.readDirectory(handle, after: after, limit: limit, call.credentials)
        return Page(entries: try page.entries.map { entry in
            DetailedEntry(name: entry.name, attributes: try handler.context.metadata.attributes(of: entry.handle).map(handler.withLocalSize) ?? handler.remoteStub(entry))
        }, more: page.more)
    }
}
