import Synchronization
import TrellisFSClient
import TrellisFSProtocol

/// One opendir's listing: pages fetched as readdir reaches them, so a
/// directory of a million entries streams. Offsets count entries from the
/// start, "." and ".." first; the kernel resumes at any offset it was given.
final class DirectoryStream: @unchecked Sendable {
    struct Entry {
        var name: String
        var handle: ObjectHandle
        var kind: ObjectKind
        /// With readdirplus: attributes and a file's size.
        var attributes: ObjectAttributes?
    }

    let directory: ObjectHandle
    let withAttributes: Bool
    private let state: Mutex<(entries: [Entry], more: Bool)>
    private let pageSize: UInt32 = 500

    init(directory: ObjectHandle, withAttributes: Bool) {
        self.directory = directory
        self.withAttributes = withAttributes
        state = Mutex((
            [Entry(name: ".", handle: directory, kind: .directory), Entry(name: "..", handle: directory, kind: .directory)], true))
    }

    /// The entries from `offset` on, fetching pages until at least `wanted`
    /// are at hand or the directory ends.
    func entries(from offset: Int, wanted: Int, _ fs: FileSystemClient) throws -> ArraySlice<Entry> {
        while true {
            let (count, more, last) = state.withLock { ($0.entries.count, $0.more, $0.entries.last?.name) }
            if count >= offset + wanted || !more { break }
            let after = count > 2 ? last : nil
            let page: [Entry]
            let hasMore: Bool
            if withAttributes {
                let (found, further) = try fs.readDirectoryWithAttributes(directory, after: after, limit: pageSize)
                page = found.map { Entry(name: $0.name, handle: $0.attributes.handle, kind: $0.attributes.kind, attributes: $0.attributes) }
                hasMore = further
            } else {
                let (found, further) = try fs.readDirectory(directory, after: after, limit: pageSize)
                page = found.map { Entry(name: $0.name, handle: $0.handle, kind: $0.kind) }
                hasMore = further
            }
            state.withLock { state in
                // Another thread may have fetched the same page meanwhile.
                guard state.entries.count == count else { return }
                state.entries += page
                state.more = hasMore && !page.isEmpty
            }
        }
        return state.withLock { state in
            offset < state.entries.count ? state.entries[offset...] : []
        }
    }
}
