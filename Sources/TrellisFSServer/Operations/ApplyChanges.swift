import Foundation
import TrellisFSProtocol
import TrellisFSStorage

extension ApplyChanges: ServedOperation {
    func serve(_ handler: RequestHandler, _ call: inout ServerCall) throws -> Done {
        guard group == handler.context.serverIndex else {
            throw FSError(.invalidArgument, "a changeset for group \(group) sent to the copy of group \(handler.context.serverIndex)")
        }
        let conflicts = try handler.context.metadata.apply(Changeset(bytes: Data(changeset.readableBytesView)))
        if !conflicts.isEmpty {
            // The copy had drifted from its primary; the changeset's rows now stand.
            let named = conflicts.prefix(4).map(\.description).joined(separator: "; ")
            handler.context.log("group \(group): \(conflicts.count) rows of a changeset were not as the primary had them: \(named)")
        }
        return Done()
    }
}
