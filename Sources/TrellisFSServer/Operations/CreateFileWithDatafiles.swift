import TrellisFSProtocol

extension CreateFileWithDatafiles: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.createFile(parent, name, mode, distribution, datafiles: datafiles, call.credentials).object
    }
}
