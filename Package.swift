// swift-tools-version: 6.0
import PackageDescription

// The products most targets use, each named once.
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let propertyBased: Target.Dependency = .product(name: "PropertyBased", package: "swift-property-based")

let package = Package(
    name: "Trellis",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "trellis", targets: ["trellis"]),
        .executable(name: "trellis-proxy", targets: ["trellis-proxy"]),
        .executable(name: "trellis-tools", targets: ["trellis-tools"]),
        .library(name: "TrellisRuntime", targets: ["TrellisRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CTrellisSystem"),
        .target(name: "CSQLiteChanges", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(name: "CMunge", linkerSettings: [.linkedLibrary("munge")]),
        .systemLibrary(name: "CFuse3", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .target(
            name: "TrellisFUSE",
            dependencies: [
                "CFuse3", "TrellisFSClient", "TrellisFSProtocol", "TrellisFSDistribution", "TrellisSystem", "TrellisCore", nioCore,
                logging, metrics,
            ]),
        .target(name: "TrellisCore"),
        .target(name: "TrellisSystem", dependencies: ["TrellisCore", "CTrellisSystem"]),
        .target(name: "TrellisHosts"),
        .target(name: "TrellisWire", dependencies: ["TrellisCore"]),
        .target(name: "TrellisFSDistribution"),
        .target(
            name: "TrellisFSStorage",
            dependencies: [
                "TrellisFSProtocol", "TrellisFSDistribution", "TrellisSystem", "CSQLiteChanges", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"), nioCore,
            ]),
        .target(
            name: "TrellisFSConnection",
            dependencies: ["TrellisFSProtocol", "TrellisRuntime", "TrellisCore", "CMunge", nioCore, .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "TrellisFSClient",
            dependencies: [
                "TrellisFSConnection", "TrellisFSProtocol", "TrellisFSDistribution", "TrellisRuntime", "TrellisCore",
                nioCore,
            ]),
        .target(
            name: "TrellisMPIIO",
            dependencies: ["TrellisFSClient", "TrellisFSProtocol", "TrellisFSDistribution", "TrellisRuntime", "TrellisCore", nioCore]),
        .target(
            name: "TrellisFSServer",
            dependencies: [
                "TrellisSystem", "TrellisNames", "TrellisFSConnection", "TrellisFSStorage", "TrellisFSProtocol", "TrellisFSDistribution", "TrellisRuntime", "TrellisCore",
                nioCore, .product(name: "TOMLKit", package: "TOMLKit"), .product(name: "DequeModule", package: "swift-collections"),
                logging, metrics,
            ]),
        .target(
            name: "TrellisServices",
            dependencies: [
                "TrellisSystem", "TrellisCore",
                nioCore,
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                logging,
                metrics,
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .target(
            name: "TrellisFSProtocol",
            dependencies: ["TrellisFSDistribution", nioCore]),
        .target(
            name: "TrellisRuntime",
            dependencies: [
                "TrellisSystem", "TrellisCore", "TrellisWire", "CTrellisSystem", "TrellisNames", "TrellisHosts", "TrellisKeys",
                nioCore,
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
                logging,
                metrics,
            ]),
        .target(
            name: "TrellisLauncher",
            dependencies: [
                "TrellisSystem", "TrellisCore", "TrellisWire", "TrellisHosts", "TrellisKeys", "CTrellisSystem",
                nioCore,
                logging,
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .target(name: "TrellisKeys", dependencies: ["TrellisCore", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "TrellisNames", dependencies: ["TrellisSystem", "TrellisCore", "TrellisKeys", logging, .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "TrellisNameService",
            dependencies: [
                "TrellisSystem", "TrellisNames", "TrellisKeys", "TrellisCore",
                nioCore,
                .product(name: "NIOPosix", package: "swift-nio"),
                logging, metrics,
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]),
        .target(
            name: "TrellisBenchmarks",
            dependencies: [
                "TrellisSystem", "TrellisRuntime", "TrellisCore", "TrellisLauncher", "TrellisFSClient", "TrellisFSProtocol", "TrellisFSDistribution",
                "TrellisFSServer", "TrellisFUSE", "TrellisNames", "TrellisMPIIO",
                argumentParser,
                nioCore,
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            resources: [.copy("Resources/mpi_bench.c"), .copy("Resources/namespace-hosts.sh"), .copy("Resources/mpi_ready.c"), .copy("Resources/btio.c")]),
        .target(
            name: "TrellisClusterTools",
            dependencies: [
                "TrellisSystem", "TrellisLauncher", "TrellisHosts", "TrellisCore", "TrellisRuntime", "TrellisFSClient", "TrellisFSProtocol", "CZstd", "CArchive", "CTrellisSystem",
                nioCore,
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .target(
            name: "TrellisCommands",
            dependencies: [
                "TrellisSystem", "TrellisRuntime", "TrellisLauncher", "TrellisRunCommand", "TrellisClusterTools", "TrellisBenchmarks", "TrellisNames", "TrellisNameService", "TrellisKeys", "TrellisFSServer", "TrellisFSProtocol", "TrellisFSClient", "TrellisFSDistribution", "TrellisFUSE", "TrellisServices",
                argumentParser,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                logging,
            ]),
        .target(
            name: "TrellisRunCommand",
            dependencies: [
                "TrellisSystem", "TrellisLauncher", "TrellisHosts", "TrellisCore", argumentParser,
                logging,
            ]),
        .executableTarget(
            name: "trellis", dependencies: ["TrellisSystem", "TrellisRunCommand", "TrellisCore", argumentParser]),
        .executableTarget(name: "trellis-tools", dependencies: ["TrellisCommands"], path: "Sources/TrellisTools"),
        .executableTarget(name: "trellis-proxy", dependencies: ["TrellisSystem", "TrellisLauncher", "TrellisCore"], path: "Sources/TrellisProxy"),
        .target(
            name: "TrellisScenarios",
            dependencies: [
                "TrellisSystem", "TrellisRuntime", "TrellisCore", "TrellisFSClient", "TrellisFSDistribution", "TrellisMPIIO", nioCore,
            ]),
        .executableTarget(
            name: "trellis-conformance", dependencies: ["TrellisScenarios", "TrellisNames", "TrellisNameService"],
            path: "Sources/TrellisConformance"),
        .executableTarget(name: "example-ring", dependencies: ["TrellisRuntime"], path: "Examples/RingExample"),
        .executableTarget(name: "example-collectives", dependencies: ["TrellisRuntime"], path: "Examples/CollectivesExample"),
        .executableTarget(name: "example-communicators", dependencies: ["TrellisRuntime"], path: "Examples/CommunicatorsExample"),
        .executableTarget(
            name: "example-nonblocking", dependencies: ["TrellisRuntime", "TrellisCore"], path: "Examples/NonblockingExample"),
        .executableTarget(name: "example-echo-service", dependencies: ["TrellisRuntime", "TrellisCore"], path: "Examples/EchoServiceExample"),
        .executableTarget(name: "example-spawn", dependencies: ["TrellisRuntime", "TrellisCore"], path: "Examples/SpawnExample"),
        .executableTarget(name: "example-one-sided", dependencies: ["TrellisRuntime"], path: "Examples/OneSidedExample"),
        .testTarget(name: "TrellisCoreTests", dependencies: ["TrellisCore"]),
        .testTarget(name: "TrellisWireTests", dependencies: ["TrellisWire", "TrellisCore"]),
        .testTarget(
            name: "TrellisRuntimeTests",
            dependencies: ["TrellisRuntime", "TrellisCore", "TrellisWire", "TrellisSystem", nioCore, logging]),
        .testTarget(
            name: "TrellisLauncherTests",
            dependencies: ["TrellisLauncher", "TrellisCore", "TrellisWire", "TrellisSystem", nioCore, .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "TrellisServicesTests",
            dependencies: [
                "TrellisServices", "TrellisFSServer", .product(name: "Prometheus", package: "swift-prometheus"), logging,
            ]),
        .testTarget(name: "TrellisNamesTests", dependencies: ["TrellisNames", "TrellisNameService", "TrellisKeys"]),
        .testTarget(name: "TrellisHostsTests", dependencies: ["TrellisHosts", propertyBased]),
        .testTarget(
            name: "TrellisClusterToolsTests", dependencies: ["TrellisClusterTools", "TrellisHosts", "TrellisCore", nioCore]),
        .testTarget(
            name: "TrellisFSDistributionTests",
            dependencies: ["TrellisFSDistribution", propertyBased]),
        .testTarget(
            name: "TrellisFSServerTests",
            dependencies: [
                "TrellisFSServer", "TrellisFSStorage", "TrellisFSProtocol", "TrellisFSDistribution", "TrellisFSConnection", "TrellisRuntime", nioCore, propertyBased,
            ]),
        .testTarget(
            name: "TrellisFSClientTests",
            dependencies: ["TrellisFSClient", "TrellisFSServer", "TrellisFSProtocol", "TrellisNameService", "TrellisSystem", "TrellisKeys", nioCore]),
        .testTarget(name: "TrellisFUSETests", dependencies: ["TrellisFUSE", nioCore]),
        .testTarget(name: "TrellisMPIIOTests", dependencies: ["TrellisMPIIO", "TrellisRuntime", "TrellisCore", "TrellisFSDistribution", nioCore, propertyBased]),
        .testTarget(name: "TrellisFSStorageTests", dependencies: ["TrellisFSStorage", "TrellisFSProtocol", "TrellisFSDistribution"]),
        .testTarget(
            name: "TrellisFSProtocolTests",
            dependencies: [
                "TrellisFSProtocol", "TrellisFSDistribution", nioCore,
                propertyBased,
            ]),
        .testTarget(
            name: "TrellisJobTests",
            dependencies: [
                "TrellisSystem", "trellis", "trellis-tools", "trellis-proxy", "trellis-conformance", "TrellisRuntime", "TrellisLauncher", "TrellisBenchmarks", "TrellisFSClient", "TrellisFSProtocol",
                "TrellisFSDistribution", "TrellisFUSE", "TrellisServices", "TrellisNames", nioCore,
                "example-ring", "example-collectives", "example-communicators", "example-nonblocking",
                "example-echo-service", "example-spawn", "example-one-sided",
            ]),
    ]
)

// Release builds leave out the run-time exclusivity checks of the project's
// own targets: profiles of an 8-byte ping-pong put a sixth of its time in
// them. Debug builds, which the tests run, keep every check.
for target in package.targets where target.type == .regular || target.type == .executable {
    target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
}
