import TrellisFSDistribution
import TrellisFSProtocol

extension TruncateDatafile: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        guard size <= Distribution.maximumOffset else { throw FSError(.invalidArgument, "a datafile of \(size) bytes is beyond the largest offset") }
        try handler.context.bstreams.truncate(datafile: try handler.checkDatafile(datafile), size: size)
        handler.replicate(self)
        return Done()
    }
}
