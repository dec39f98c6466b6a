/// What rank 0 of a shell broadcasts for each line: every rank learns
/// whether it takes part and what to do, with the environment and the
/// directory the script has set so far.
struct ShellStep: Codable, Sendable {
    enum Kind: String, Codable, Sendable {
        case command
        case stage
        case sync
        /// The script is done (or stopped): every rank leaves.
        case end
    }

    var kind: Kind
    /// The ranks that take part (rank 0 is the source of a stage or sync in any case).
    var ranks: [Int] = []
    var command = ""
    var environment: [String: String] = [:]
    var directory = ""
    var stage: StageRequest?
    var sync: SyncRequest?
}
