import TrellisFSClient
import TrellisFSDistribution
import TrellisFSProtocol

/// Create, stat and unlink of a striped file as PVFS2 does them without
/// server help: the client itself asks every server in turn. Trellis's
/// client sends one aggregate request instead, which the servers fan out
/// among themselves as a tree; these steps are here to measure that against
/// (Fig. 4 of the persistent-services paper, Latham, Ross and Thakur, "Can
/// MPI Be Used for Persistent Parallel Services?": O(N) against O(log N)
/// message time steps through the client's link).
public struct StepwiseOperations {
    /// The client whose connections the steps go through.
    public let fs: FileSystemClient

    /// Steps through `fs`.
    public init(_ fs: FileSystemClient) { self.fs = fs }

    /// Every datafile made on its server (one request per server), then the
    /// metadata and entry on the parent's server; a failed last step takes
    /// the datafiles back.
    public func createFile(in directory: ObjectAttributes, named name: String, mode: UInt32 = 0o644, distribution requested: Distribution? = nil) throws -> ObjectAttributes {
        let distribution = try (requested ?? directory.distribution ?? fs.configuration.defaultDistribution).placed(onServer: directory.handle.server ?? 0)
        let made = try makeDatafiles(on: (0..<distribution.datafileCount).map { try fs.configuration.group(ofDatafile: $0, of: distribution) })
        do {
            return try fs.call(owner: directory.handle, CreateFileWithDatafiles(
                parent: directory.handle, name: name, mode: mode, distribution: distribution, datafiles: made))
        } catch {
            try? fs.removeDatafiles(made)
            throw error
        }
    }

    /// The attributes from the owner, then the size from every data server.
    public func stat(handle: ObjectHandle) throws -> ObjectAttributes {
        var found = try fs.call(owner: handle, GetAttributes(handle))
        if found.kind == .file, !found.sizeIsKnown {
            found.size = try size(of: found)
            found.sizeIsKnown = true
        }
        return found
    }

    /// The logical size from every data server's datafile sizes.
    public func size(of file: ObjectAttributes) throws -> UInt64 {
        guard let distribution = file.distribution else { throw FSError(.invalidArgument, "object \(file.handle) is not a file") }
        return distribution.logicalSize(datafileSizes: try fs.datafileSizes(of: file))
    }

    /// unlink of a file that lives with its entry: the entry and metadata on
    /// the owner, then, at the last link, every datafile the owner does not hold.
    public func removeFile(_ target: ObjectAttributes, named name: String, in directory: ObjectHandle) throws {
        guard target.handle.server == directory.server else {
            throw FSError(.invalidArgument, "\(name) lives on another server than its directory: the client's removeFile handles that")
        }
        let left = try fs.call(owner: directory, Remove(parent: directory, name: name, directory: false))
        if target.kind == .file, left.count == 0 {
            try fs.removeDatafiles(target.datafiles.filter { $0.server != target.handle.server }, capability: left.removal)
        }
    }

    /// One new datafile on each server listed, in that order: one request per server.
    private func makeDatafiles(on servers: [Int]) throws -> [ObjectHandle] {
        let counts = Dictionary(grouping: servers, by: { $0 }).mapValues(\.count).sorted { $0.key < $1.key }
        var made: [Int: [ObjectHandle]] = [:]
        for ((server, count), handles) in zip(counts, try fs.callAll(counts.map { ($0.key, CreateDatafiles(count: UInt32($0.value))) })) {
            guard handles.count == count else { throw FSError(.protocolViolation, "server \(server) made \(handles.count) datafiles, not \(count)") }
            made[server] = handles.reversed()
        }
        return servers.map { made[$0]!.removeLast() }
    }
}
