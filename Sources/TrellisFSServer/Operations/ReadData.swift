import NIOCore
import TrellisFSProtocol

extension ReadData: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ByteBuffer {
        let data = try handler.context.bstreams.read(datafile: try handler.checkDatafile(datafile), regions: regions, maximumBytes: handler.context.maximumTransferBytes)
        handler.metrics.bytesRead.increment(by: data.readableBytes)
        return data
    }
}
