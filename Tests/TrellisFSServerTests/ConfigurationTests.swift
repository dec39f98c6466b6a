import Foundation
import Testing
import TrellisFSDistribution
import TrellisFSProtocol
import TrellisFSServer

@Suite struct ConfigurationTests {
    let sample = """
        [filesystem]
        name = "scratch"
        strip_size_bytes = 131072
        datafiles = 2

        [[server]]
        host = "127.0.0.1"
        storage = "/tmp/a"

        [[server]]
        host = "127.0.0.1"
        storage = "/tmp/b"

        [[server]]
        host = "127.0.0.1"
        storage = "/tmp/c"
        """

    @Test func aConfigurationParsesAndWritesBack() throws {
        let configuration = try FileSystemConfiguration.parse(toml: sample)
        #expect(configuration.name == "scratch" && configuration.servers.count == 3 && configuration.servers[2].storage == "/tmp/c")
        #expect(try configuration.defaultDistribution() == (try Distribution.simpleStripe(stripSizeBytes: 131_072, datafileCount: 2)))
        #expect(try FileSystemConfiguration.parse(toml: configuration.toml()) == configuration)
        #expect(configuration.serviceName(ofServer: 1) == "trellis-fs/scratch/1")
        #expect(configuration.precreateBatch == FileSystemConfiguration.defaultPrecreateBatch)
        let withoutPools = try FileSystemConfiguration.parse(toml: sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nprecreate_batch = 0"))
        #expect(try withoutPools.precreateBatch == 0 && FileSystemConfiguration.parse(toml: withoutPools.toml()) == withoutPools)
        #expect(configuration.replicas == 1 && configuration.durability == .fsync)
        // Two replicas acknowledge once both hold a change, unless told to wait for the disks.
        let replicated = try FileSystemConfiguration.parse(toml: sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nreplicas = 2"))
        #expect(try replicated.replicas == 2 && replicated.durability == .replicated && replicated.placement().members.allSatisfy { $0.count == 2 })
        #expect(try FileSystemConfiguration.parse(toml: replicated.toml()) == replicated)
        let synced = try FileSystemConfiguration.parse(toml: sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nreplicas = 3\ndurability = \"fsync\""))
        #expect(synced.replicas == 3 && synced.durability == .fsync)
        // Other copy counts for directories: one more set of groups per count, written back as read.
        let sets = try FileSystemConfiguration.parse(toml: sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nreplicas = 2\ndata_replicas = [1, 3]"))
        #expect(try sets.dataReplicas == [1, 3] && sets.placement().members.map(\.count) == [2, 2, 2, 1, 1, 1, 3, 3, 3])
        #expect(try FileSystemConfiguration.parse(toml: sets.toml()) == sets)
        // Servers authenticate unless told not to; where they find the key is written back too.
        #expect(configuration.authentication == .key && configuration.keyFile == nil)
        let open = try FileSystemConfiguration.parse(toml: sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nauth = \"none\""))
        #expect(try open.authentication == .none && FileSystemConfiguration.parse(toml: open.toml()) == open)
        let named = try FileSystemConfiguration.parse(toml: sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nkey_file = \"/etc/k\""))
        #expect(try named.keyFile == "/etc/k" && FileSystemConfiguration.parse(toml: named.toml()) == named)
    }

    @Test func badConfigurationsSayWhatIsWrong() {
        for (text, fragment) in [
            ("not toml at all [", "not a valid"),
            ("[filesystem]\nname = \"x\"\n", "not a valid"),
            (sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 9"), "datafiles = 9"),
            (sample.replacingOccurrences(of: "scratch", with: "has space"), "name"),
            (sample.replacingOccurrences(of: "131072", with: "0"), "strip_size_bytes"),
            (sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nprecreate_batch = 5000"), "precreate_batch"),
            (sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nreplicas = 4"), "replicas = 4"),
            (sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nreplicas = 0"), "replicas = 0"),
            (sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\ndurability = \"replicated\""), "needs replicas >= 2"),
            (sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nreplicas = 2\ndurability = \"maybe\""), "\"maybe\" is not one of"),
            (sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nreplicas = 2\ndata_replicas = [2]"), "repeats a count"),
            (sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\ndata_replicas = [4]"), "replicas = 4"),
            (sample.replacingOccurrences(of: "datafiles = 2", with: "datafiles = 2\nauth = \"maybe\""), "auth = \"maybe\" is not one of"),
        ] {
            do {
                _ = try FileSystemConfiguration.parse(toml: text, source: "test.toml")
                Issue.record("accepted: \(text)")
            } catch let error as FSError {
                #expect(error.message.contains(fragment), "\(error)")
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func mkfsPreparesEachFolderOnceAndServersCheckIt() throws {
        let base = NSTemporaryDirectory() + "trellis-mkfs-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let configuration = try FileSystemConfiguration(
            name: "t", servers: (0..<2).map { .init(host: "127.0.0.1", storage: "\(base)/\($0)") })
        #expect(throws: FSError.self) { try ServerStorage.open(configuration, server: 0) }
        for index in 0..<2 { try ServerStorage.make(configuration, server: index) }
        #expect(throws: FSError.self) { try ServerStorage.make(configuration, server: 1) }
        let zero = try ServerStorage.open(configuration, server: 0)
        #expect(try zero.metadata.attributes(of: .root)?.kind == .directory)
        #expect(try ServerStorage.open(configuration, server: 1).metadata.attributes(of: .root) == nil)
        let other = try FileSystemConfiguration(name: "other", servers: configuration.servers)
        #expect(throws: FSError.self) { try ServerStorage.open(other, server: 0) }
    }
}
