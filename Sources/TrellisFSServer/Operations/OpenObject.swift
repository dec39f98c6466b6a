import TrellisFSProtocol

extension OpenObject: ServedOperation {
    /// Checks the caller's permission on the file as open(2) does, then
    /// signs what it allows; the attributes are a `Stat`'s (with the size
    /// of a striped file asked of its datafiles' servers).
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> OpenedObject {
        let file = try handler.stat(self.file, steps: &call.steps)
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
        return OpenedObject(attributes: file, capability: handler.capability(for: file, rights, call.credentials))
    }

    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool {
        !handler.hasOnlyLocalDatafiles(file)
    }
}
