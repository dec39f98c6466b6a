import TrellisFSProtocol

extension ListExtendedAttributes: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> [String] {
        try handler.extendedAttributeNames(handle, call.credentials)
    }
}
