import NIOCore
import TrellisFSProtocol

extension GetExtendedAttribute: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ByteBuffer {
        try handler.extendedAttribute(handle, name, call.credentials)
    }
}
