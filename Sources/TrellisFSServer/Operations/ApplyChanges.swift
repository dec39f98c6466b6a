import Foundation
import TrellisFSProtocol
import TrellisFSStorage

extension ApplyChanges: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        guard group == handler.context.serverIndex else {
            throw FSError(.invalidArgument, "a changeset for group \(group) sent to the copy of group \(handler.context.serverIndex)")
        }
        let conflicts = try handler.context.metadata.apply(Changeset(bytes: Data(changeset.readableBytesView)))
        if conflicts > 0 {
            // The copy had drifted from its primary; the changeset's rows now stand.
            handler.context.log("group \(group): \(conflicts) rows of a changeset were not as the primary had them")
        }
        return Done()
    }
}
