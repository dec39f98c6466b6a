import TrellisFSProtocol

extension BeginResync: ServedOperation {
    /// The copy takes its primary's changes from now on, and for a full
    /// resync gives up every bstream it holds (the rows go when the snapshot comes).
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        _ = try handler.replicaGroup(Int(group))
        guard !handler.context.role.isPrimary else {
            throw FSError(.notPermitted, "this copy is group \(group)'s primary: it resyncs others, it is not resynced")
        }
        handler.context.role.beginResync()
        if full {
            for datafile in try handler.context.bstreams.storedDatafiles() { try handler.context.bstreams.remove(datafile: datafile) }
        }
        handler.context.log("group \(group): the primary resyncs this copy \(full ? "in full" : "from its log of missed changes")")
        return Done()
    }
}
