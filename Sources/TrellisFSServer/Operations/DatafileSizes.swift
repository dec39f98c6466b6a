import TrellisFSProtocol

extension DatafileSizes: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Sizes {
        Sizes(bytes: try datafiles.map { try handler.context.bstreams.size(datafile: try handler.checkDatafile($0)) })
    }
}
