import TrellisFSProtocol

extension OpenObject: ServedOperation {
    /// Checks the caller's permission on the file as open(2) does, then signs what it allows.
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Capability? {
        let file = try handler.object(self.file)
        guard file.kind == .file else {
            throw FSError(file.kind == .directory ? .isDirectory : .invalidArgument, "object \(self.file) is not a regular file: it has no datafiles to open")
        }
        guard rights.isSubset(of: [.read, .write]), !rights.isEmpty else {
            throw FSError(.invalidArgument, "an open asks for reading and / or writing, not \(rights)")
        }
        let needed: UInt32 = (rights.contains(.read) ? 4 : 0) | (rights.contains(.write) ? 2 : 0)
        guard file.allows(needed, for: call.credentials) else {
            throw FSError(.permissionDenied, "uid \(call.credentials.uid) may not open file \(self.file) for \(rights)")
        }
        return handler.capability(for: file, rights, call.credentials)
    }
}
