import Foundation
import Glibc
import TrellisFSProtocol

extension ResyncMetadata: ServedOperation {
    static var runsAlone: Bool { true }

    /// Writes the piece into the snapshot beside the copy's database; the
    /// last piece replaces every replicated row with the snapshot's.
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        _ = try handler.replicaGroup(Int(group))
        guard handler.context.role.isResyncing else {
            throw FSError(.notPermitted, "this copy of group \(group) is not being resynced: a snapshot would undo changes it took")
        }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(bytes.readableBytes))
        guard !overflow, end <= total else {
            throw FSError(.invalidArgument, "a snapshot piece at \(offset) of \(bytes.readableBytes) bytes runs past the snapshot's \(total)")
        }
        let path = handler.context.metadata.path + ".resync-in"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0), 0o600)
        guard descriptor >= 0 else { throw FSError(.ioError, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let written = bytes.withUnsafeReadableBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.readableBytes else { throw FSError(.noSpace, "cannot write the snapshot piece to \(path): \(String(cString: strerror(errno)))") }
        guard end == total else { return Done() }
        defer { try? FileManager.default.removeItem(atPath: path) }
        try handler.context.metadata.replaceReplicatedRows(from: path)
        return Done()
    }
}
