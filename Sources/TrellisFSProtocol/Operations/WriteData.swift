import NIOCore
import TrellisFSDistribution

/// Bytes for one datafile's physical regions, packed in order.
public struct WriteData: FSOperation {
    /// Code 14 on the wire, answered with ``Written``; resent after a lost connection (it is idempotent); changes this server's metadata, so it may share a group commit.
    public static let form = OperationForm<Self, Written>(code: 14, idempotent: true, commits: true, \.datafile, \.regions, \.data, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var datafile: ObjectHandle, regions: [AccessPattern.Region], data: ByteBuffer
    /// The request as a client (or a peer server) sends it.
    public init(datafile: ObjectHandle, regions: [AccessPattern.Region], data: ByteBuffer) { (self.datafile, self.regions, self.data) = (datafile, regions, data) }
}
