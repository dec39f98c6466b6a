import Foundation
import TrellisFSProtocol
import TrellisFSStorage

/// One server's storage folder: `metadata.sqlite` and `bstreams/`. `mkfs`
/// prepares it; a server refuses a folder that was not prepared, or was
/// prepared for another file system or index.
public enum ServerStorage {
    static let markerName = "trellis-fs-server"
    /// 2: datafiles are objects with handles (decision 0003).
    static let storageFormat = 2

    static func markerText(_ configuration: FileSystemConfiguration, _ index: Int) -> String {
        "\(configuration.name) \(index) format \(storageFormat)\n"
    }

    /// Prepares server `index`'s folder; server 0 also gets the root directory.
    public static func make(_ configuration: FileSystemConfiguration, server index: Int, rootOwner: Credentials = Credentials(uid: 0, gid: 0)) throws {
        let folder = configuration.servers[index].storage
        let marker = folder + "/" + markerName
        if FileManager.default.fileExists(atPath: marker) {
            throw FSError(.exists, "server \(index)'s storage folder \(folder) is already prepared; remove it first to make a new file system")
        }
        do {
            try FileManager.default.createDirectory(atPath: folder + "/bstreams", withIntermediateDirectories: true)
        } catch {
            throw FSError(.ioError, "cannot make server \(index)'s storage folder \(folder): \(error.localizedDescription)")
        }
        let metadata = try SQLiteMetadataStore(path: folder + "/metadata.sqlite", serverIndex: index)
        if index == 0 {
            _ = try metadata.createObject(
                NewObject(kind: .directory, mode: 0o1777, uid: rootOwner.uid, gid: rootOwner.gid, time: .now()), handle: .root)
        }
        do {
            try markerText(configuration, index).write(toFile: marker, atomically: true, encoding: .utf8)
        } catch {
            throw FSError(.ioError, "cannot write \(marker): \(error.localizedDescription)")
        }
    }

    /// Opens server `index`'s stores, checking the folder was prepared for it.
    public static func open(_ configuration: FileSystemConfiguration, server index: Int) throws -> (metadata: SQLiteMetadataStore, bstreams: BstreamStore) {
        let folder = configuration.servers[index].storage
        let marker = folder + "/" + markerName
        guard let text = try? String(contentsOfFile: marker, encoding: .utf8) else {
            throw FSError(.notFound, "server \(index)'s storage folder \(folder) is not prepared: run `trellis mkfs` first")
        }
        if text == "\(configuration.name) \(index)\n" {
            throw FSError(.invalidArgument, "\(folder) was made by an older Trellis (storage format 1, not \(storageFormat)): make the file system again with `trellis mkfs`")
        }
        guard text == markerText(configuration, index) else {
            throw FSError(.invalidArgument, "\(folder) holds '\(text.trimmingCharacters(in: .whitespacesAndNewlines))', not file system \(configuration.name) server \(index)")
        }
        return (
            try SQLiteMetadataStore(path: folder + "/metadata.sqlite", serverIndex: index, reservePath: folder + "/metadata.reserve"),
            try BstreamStore(folder: folder + "/bstreams")
        )
    }
}
