import TrellisFSProtocol
import TrellisFSStorage

extension CreateDirectoryObject: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> ObjectAttributes {
        try handler.context.metadata.createObject(NewObject(
            kind: .directory, mode: mode & 0o3777, uid: call.credentials.uid, gid: call.credentials.gid, time: handler.context.now(), distribution: distribution))
    }
}
