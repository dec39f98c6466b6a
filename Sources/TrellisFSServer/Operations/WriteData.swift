import TrellisFSProtocol

extension WriteData: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Written {
        guard data.readableBytes <= handler.context.maximumTransferBytes else {
            throw FSError(.invalidArgument, "a write of \(data.readableBytes) bytes is above the \(handler.context.maximumTransferBytes)-byte limit of one request")
        }
        let written = try handler.context.bstreams.write(datafile: try handler.checkDatafile(datafile), regions: regions, data: data)
        // After this copy's write, so a secondary never holds bytes its primary refused (a full disk).
        handler.replicate(self)
        handler.metrics.bytesWritten.increment(by: Int(written))
        return Written(bytes: written)
    }
}
