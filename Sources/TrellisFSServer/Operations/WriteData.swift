import TrellisFSProtocol

extension WriteData: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Written {
        guard data.readableBytes <= handler.context.maximumTransferBytes else {
            throw FSError(.invalidArgument, "a write of \(data.readableBytes) bytes is above the \(handler.context.maximumTransferBytes)-byte limit of one request")
        }
        let checked = try handler.checkDatafile(datafile)
        // The secondaries write while this copy does: the bytes cross the wire once either way.
        let passage = handler.startReplicating(self)
        let written = try handler.context.bstreams.write(datafile: checked, regions: regions, data: data)
        if let failure = passage?.outcome() { throw failure }
        handler.metrics.bytesWritten.increment(by: Int(written))
        return Written(bytes: written)
    }
}
