import TrellisFSProtocol

extension RemoveFile: ServedOperation {
    /// Its peers only remove datafiles.
    static var peersNeverCallBack: Bool { true }

    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> RemoveFile.Outcome {
        try handler.removeFile(parent, name, call.credentials, steps: &call.steps, followUps: &call.followUps)
    }

    func mayWaitOnPeers(_ handler: RequestHandler) -> Bool {
        guard let entry = try? handler.context.metadata.entry(in: parent, named: name) else { return false }
        return !handler.hasOnlyLocalDatafiles(entry.handle)
    }
}
