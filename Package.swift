// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
  .swiftLanguageMode(.v6),
  .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
  name: "Vigil",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "vigil", targets: ["vigil"]),
    .library(name: "VigilEtcd", targets: ["VigilEtcd"]),
    .library(name: "VigilCore", targets: ["VigilCore"]),
    .library(name: "VigilOracle", targets: ["VigilOracle"]),
    .library(name: "VigilConfig", targets: ["VigilConfig"]),
    .library(name: "VigilProbes", targets: ["VigilProbes"]),
    .library(name: "VigilRuntime", targets: ["VigilRuntime"]),
    .library(name: "VigilTestKit", targets: ["VigilTestKit"]),
    .library(name: "VigilStore", targets: ["VigilStore"]),
    .library(name: "VigilLoops", targets: ["VigilLoops"]),
    .library(name: "VigilMonitor", targets: ["VigilMonitor"]),
    .library(name: "VigilRepair", targets: ["VigilRepair"]),
    .library(name: "VigilEngine", targets: ["VigilEngine"]),
    .library(name: "VigilEngineTesting", targets: ["VigilEngineTesting"]),
    .library(name: "VigilAPI", targets: ["VigilAPI"]),
    .library(name: "VigilServer", targets: ["VigilServer"]),
    .library(name: "VigilDrill", targets: ["VigilDrill"]),
    .library(name: "VigilBench", targets: ["VigilBench"]),
    .library(name: "VigilBackup", targets: ["VigilBackup"]),
    .library(name: "VigilProxy", targets: ["VigilProxy"]),
    .library(name: "VigilCoordination", targets: ["VigilCoordination"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
    .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
    .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
  ],
  targets: [
    // Generated protobuf messages and gRPC client stubs (scripts/generate-protos).
    .target(
      name: "VigilEtcdProto",
      dependencies: [
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      ],
      swiftSettings: [.swiftLanguageMode(.v6)]
    ),
    // etcd endpoints (http(s)://host:port), parsed and validated: shared by the client and the configuration.
    .target(
      name: "VigilEndpoints",
      swiftSettings: strict
    ),
    // The native etcd v3 client: HTTP/2 connection, gRPC transport, async API.
    .target(
      name: "VigilEtcd",
      dependencies: [
        "VigilEndpoints",
        "VigilEtcdProto",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOTLS", package: "swift-nio"),
        .product(name: "NIOHPACK", package: "swift-nio-http2"),
        .product(name: "NIOHTTP2", package: "swift-nio-http2"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    // Pure decisions, in folders by stage of the loop (detect, diagnose, incidents, repair). No I/O, no clock.
    .target(
      name: "VigilCore",
      swiftSettings: strict
    ),
    // The drills' oracle, pure: scenarios as data, recorded histories, the linearizability checker, reports.
    .target(
      name: "VigilOracle",
      dependencies: ["VigilCore"],
      swiftSettings: strict
    ),
    // vigil.yaml: parsing, defaults, validation with paths.
    .target(
      name: "VigilConfig",
      dependencies: ["VigilCore", "VigilEndpoints", .product(name: "Yams", package: "Yams")],
      swiftSettings: strict
    ),
    // Probes: black-box checks that act like users, returning results for the detector.
    .target(
      name: "VigilProbes",
      dependencies: [
        "VigilCore", "VigilEtcd",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOTLS", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    // The runtime drivers, together: the member-runtime protocol, local processes (the embedded default),
    // the exec driver for any other platform; etcd's data-dir layout is decided here once.
    .target(
      name: "VigilRuntime",
      dependencies: [
        "VigilConfig", "VigilEtcd",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    // Helpers any test target uses: fresh real clusters, certificates.
    // Several replicas of Vigil: registration, shards and fencing through a management etcd.
    .target(
      name: "VigilCoordination",
      dependencies: [
        "VigilCore", "VigilEtcd", "VigilLoops", .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: strict
    ),
    .target(
      name: "VigilTestKit",
      dependencies: ["VigilEtcd", "VigilRuntime"],
      swiftSettings: strict
    ),
    // History: results, transitions, findings, incidents, the repair journal and audit, tokens — in SQLite (GRDB)
    // or PostgreSQL (postgres-nio).
    .target(
      name: "VigilStore",
      dependencies: [
        "VigilCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    // What Vigil's long-running loops share: wake-ups, the concurrency limiter, liveness and its metrics.
    .target(
      name: "VigilLoops",
      dependencies: [
        "VigilCore",
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    // The HTTP API's JSON types and a client for it (the CLI, scripts, tests): shared by server and CLI.
    .target(
      name: "VigilAPI",
      dependencies: [
        "VigilCore",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ],
      swiftSettings: strict
    ),
    // `vigil proxy`: an L4 TCP proxy to the healthy members of a cluster's active side.
    .target(
      name: "VigilProxy",
      dependencies: [
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    // Detection: schedules probes and inspections, runs the detector, opens incidents, keeps metrics.
    .target(
      name: "VigilMonitor",
      dependencies: [
        "VigilAPI", "VigilCore", "VigilConfig", "VigilEtcd", "VigilLoops", "VigilProbes", "VigilStore", "VigilRuntime",
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    // Repair: the journaled executor of runbooks and the coordinator that plans from diagnoses.
    .target(
      name: "VigilRepair",
      dependencies: [
        "VigilBackup", "VigilCore", "VigilConfig", "VigilEtcd", "VigilProbes", "VigilRuntime", "VigilLoops", "VigilStore",
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    // Backups: full snapshots, the change log, stores (a local directory, S3), verification and restore.
    .target(
      name: "VigilBackup",
      dependencies: [
        "VigilCore", "VigilConfig", "VigilEtcd", "VigilEtcdProto", "VigilLoops", "VigilRuntime",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: strict
    ),
    // The one place that builds Vigil from a configuration: clients, runtimes, store, monitor, repair, as services.
    .target(
      name: "VigilEngine",
      dependencies: [
        "VigilBackup", "VigilConfig", "VigilCoordination", "VigilEtcd", "VigilRuntime", "VigilLoops", "VigilMonitor",
        "VigilProbes", "VigilRepair", "VigilStore",
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ],
      swiftSettings: strict
    ),
    // Tests get a running engine on real clusters in one call.
    .target(
      name: "VigilEngineTesting",
      dependencies: ["VigilEngine", "VigilConfig", "VigilRuntime", "VigilTestKit"],
      swiftSettings: strict
    ),
    .target(
      name: "VigilDrill",
      dependencies: [
        "VigilCore", "VigilOracle", "VigilConfig", "VigilCoordination", "VigilEngine", "VigilEtcd", "VigilRuntime",
        "VigilMonitor", "VigilRepair", "VigilStore", "VigilAPI", "VigilProxy",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    // `vigil serve`: the HTTP API (/metrics, /status, reports) and the service group.
    .target(
      name: "VigilServer",
      dependencies: [
        "VigilAPI", "VigilEngine", "VigilLoops", "VigilMonitor", "VigilRepair", "VigilConfig", "VigilCore",
        "VigilProbes", "VigilRuntime", "VigilStore", "VigilOracle", "VigilCoordination",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    // The benchmarks' measurements (detection, engine cost, MTTR, the KV client beside etcd's Go client);
    // the CLI parses their options and renders their numbers.
    .target(
      name: "VigilBench",
      dependencies: [
        "VigilAPI", "VigilBackup", "VigilConfig", "VigilCore", "VigilEngine", "VigilEtcd", "VigilMonitor", "VigilProbes",
        "VigilProxy", "VigilRepair", "VigilRuntime", "VigilStore", "VigilCoordination",
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: strict
    ),
    // Command implementations: parse, call, render; kept out of the thin executable.
    .target(
      name: "VigilCLI",
      dependencies: [
        "VigilAPI",
        "VigilProxy",
        "VigilBackup",
        "VigilBench",
        "VigilConfig",
        "VigilEngine",
        "VigilEtcd",
        "VigilRuntime",
        "VigilMonitor",
        "VigilRepair",
        "VigilDrill",
        "VigilOracle",
        "VigilServer",
        "VigilProbes",
        "VigilStore",
        "VigilCore",
        .product(name: "CoreMetrics", package: "swift-metrics"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: strict
    ),
    .executableTarget(
      name: "vigil",
      dependencies: ["VigilCLI"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilEtcdTests",
      dependencies: ["VigilEtcd", "VigilTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilCoreTests",
      dependencies: ["VigilCore"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilOracleTests",
      dependencies: ["VigilOracle", "VigilCore"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilConfigTests",
      dependencies: ["VigilConfig", "VigilCore", .product(name: "PropertyBased", package: "swift-property-based")],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilProbesTests",
      dependencies: ["VigilProbes", "VigilTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilRuntimeTests",
      dependencies: ["VigilRuntime", "VigilTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilStoreTests",
      dependencies: ["VigilStore", "VigilTestKit", "VigilRuntime"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilLoopsTests",
      dependencies: ["VigilLoops", "VigilTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilMonitorTests",
      dependencies: ["VigilMonitor", "VigilEngineTesting", "VigilServer", "VigilTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilServerTests",
      dependencies: [
        "VigilAPI", "VigilServer", "VigilConfig", "VigilCore", "VigilMonitor", "VigilProbes", "VigilRuntime", "VigilStore",
        "VigilTestKit", "VigilDrill", "VigilOracle",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilCoordinationTests",
      dependencies: ["VigilCoordination", "VigilCore", "VigilEtcd", "VigilProxy", "VigilRuntime", "VigilTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilProxyTests",
      dependencies: ["VigilProxy", "VigilEtcd", "VigilRuntime", "VigilTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilBackupTests",
      dependencies: ["VigilBackup", "VigilConfig", "VigilCore", "VigilTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilRepairTests",
      dependencies: [
        "VigilBackup", "VigilRepair", "VigilEngineTesting", "VigilServer", "VigilTestKit", "VigilDrill", "VigilOracle",
        .product(name: "GRDB", package: "GRDB.swift"),
      ],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilDrillTests",
      dependencies: ["VigilDrill", "VigilOracle", "VigilConfig", "VigilEtcd", "VigilRuntime", "VigilTestKit"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "VigilCLITests",
      dependencies: ["VigilBench", "VigilCLI", "VigilTestKit"],
      swiftSettings: strict
    ),
  ]
)
