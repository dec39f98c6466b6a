import NIOCore
import TrellisFSDistribution

/// Bytes of one datafile at physical regions, returned packed in order.
public struct ReadData: FSOperation {
    public static let form = OperationForm<Self, ByteBuffer>(code: 13, idempotent: true, commits: false, \.datafile, \.regions, make: Self.init)
    public var datafile: ObjectHandle, regions: [AccessPattern.Region]
    public init(datafile: ObjectHandle, regions: [AccessPattern.Region]) { (self.datafile, self.regions) = (datafile, regions) }
}
