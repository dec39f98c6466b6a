import Glibc
import TrellisFSClient
import TrellisMPIIO
import TrellisRuntime

/// Where an MPI-IO benchmark's ranks put their files: a Trellis file system
/// through the client library (`native`), or its FUSE mount as POSIX files
/// (`mount`, as ROMIO's POSIX driver would reach it).
enum ParallelIOTarget {
    case native(FileSystemClient)
    case mount(String)

    /// Connects to file system `name`, or names the mount point.
    static func make(runtime: Runtime, fileSystem name: String, mountPoint: String?) throws -> ParallelIOTarget {
        if let mountPoint { return .mount(mountPoint) }
        return .native(try FileSystemClient.connect(name: name, runtime: runtime))
    }

    /// Opens `path` (a file-system path) on every rank of `communicator`, created when missing.
    func open(_ communicator: Communicator, path: String, access: OpenFile.Access, hints: IOHints) throws -> ParallelFile {
        switch self {
        case .native(let client): try ParallelFile.open(communicator, path: path, on: client, access: access, create: true, hints: hints)
        case .mount(let point): try ParallelFile.open(communicator, posixPath: point + path, access: access, create: true, hints: hints)
        }
    }

    /// Removes `path`.
    func remove(_ path: String) throws {
        switch self {
        case .native(let client): try client.removeFile(path)
        case .mount(let point): _ = unlink(point + path)
        }
    }

    func close() {
        if case .native(let client) = self { client.close() }
    }
}
