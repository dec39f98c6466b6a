import NIOCore
import TrellisFSProtocol

extension ReadData: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ByteBuffer {
        // Read with room in front for the reply's header and the bytes' length, both put there
        // while nothing else holds the buffer: the bytes go to the lane or socket as they were read.
        var data = try handler.context.bstreams.read(
            datafile: try handler.checkDatafile(datafile), regions: regions, maximumBytes: handler.context.maximumTransferBytes,
            headroom: FSReplyEnvelope.successHeaderBytes + WireWriter.lengthPrefixBytes)
        WireWriter.prefixingItsLength(&data)
        handler.metrics.bytesRead.increment(by: data.readableBytes)
        return data
    }
}
