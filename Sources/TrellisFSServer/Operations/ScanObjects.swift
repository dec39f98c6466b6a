import TrellisFSProtocol

extension ScanObjects: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Page<ObjectAttributes> {
        try handler.requireSuperuser(call.credentials)
        let page = try handler.context.metadata.objects(after: after, limit: RequestHandler.scanPage(limit))
        return Page(entries: page.objects, more: page.more)
    }
}
