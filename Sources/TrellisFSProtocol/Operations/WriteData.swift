import NIOCore
import TrellisFSDistribution

/// Bytes for one datafile's physical regions, packed in order.
public struct WriteData: FSOperation {
    public static let form = OperationForm<Self, Written>(code: 14, idempotent: true, commits: true, \.datafile, \.regions, \.data, make: Self.init)
    public var datafile: ObjectHandle, regions: [AccessPattern.Region], data: ByteBuffer
    public init(datafile: ObjectHandle, regions: [AccessPattern.Region], data: ByteBuffer) { (self.datafile, self.regions, self.data) = (datafile, regions, data) }
}
