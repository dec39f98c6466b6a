import NIOCore
import TrellisFSDistribution

/// Bytes of one datafile at physical regions, returned packed in order.
public struct ReadData: FSOperation {
    /// Code 13 on the wire, answered with `ByteBuffer`; resent after a lost connection (it is idempotent); changes no metadata.
    public static let form = OperationForm<Self, ByteBuffer>(code: 13, idempotent: true, commits: false, \.datafile, \.regions, make: Self.init)
    /// The request's fields, in the order the wire form lists them.
    public var datafile: ObjectHandle, regions: [AccessPattern.Region]
    /// The request as a client (or a peer server) sends it.
    public init(datafile: ObjectHandle, regions: [AccessPattern.Region]) { (self.datafile, self.regions) = (datafile, regions) }
}
