// swift-tools-version:6.2
// Weir: a clustered LLM API gateway. The target graph follows DESIGN.md section 2:
// pure cores (Consensus, QuotaCRDT, Policy) import nothing that does I/O; exactly one
// Swift module imports each C library (Storage → CRocksDB, Transport → CNNG, Node → CZstd
// for compressed snapshots, Node → CMalloc for HeapTrim).

import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "weir",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "weir", targets: ["weir"]),
        .executable(name: "clusterctl", targets: ["clusterctl"]),
        .executable(name: "weir-sim", targets: ["weir-sim"]),
        .executable(name: "weir-bench", targets: ["weir-bench"]),
        .executable(name: "mockllm", targets: ["mockllm"]),
        .executable(name: "weir-fuzz", targets: ["weir-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.20.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.30.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.14.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.9.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", "5.0.0"..<"7.0.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.2.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
    ],
    targets: [
        // C libraries: module maps only, no Swift.
        .systemLibrary(
            name: "CRocksDB", path: "Sources/CRocksDB", pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]),
        .systemLibrary(
            name: "CNNG", path: "Sources/CNNG",
            providers: [.apt(["libnng-dev"])]),
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]),
        // glibc's malloc_trim, for HeapTrim (no library to link: it is libc).
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),

        // One seeded generator for every simulation and property test.
        .target(name: "SeededRandom", swiftSettings: strict),

        // Big-endian readers and writers for the wire and storage formats.
        .target(name: "BinaryCoding", swiftSettings: strict),

        // I/O modules.
        .target(name: "Storage", dependencies: ["CRocksDB"], swiftSettings: strict),
        .target(
            name: "Transport",
            dependencies: [
                "CNNG", "BinaryCoding",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strict),

        // Pure cores: no I/O, no clock, no randomness of their own.
        .target(name: "Consensus", dependencies: ["BinaryCoding", "SeededRandom"], swiftSettings: strict),
        .target(name: "QuotaCRDT", dependencies: ["BinaryCoding"], swiftSettings: strict),
        .target(name: "Policy", swiftSettings: strict),

        // Test support: a deterministic in-memory Raft cluster, shared by the tests and
        // the simulator.
        .target(name: "RaftSimulation", dependencies: ["Consensus", "SeededRandom"], swiftSettings: strict),
        .target(name: "QuotaSimulation", dependencies: ["QuotaCRDT", "SeededRandom"], swiftSettings: strict),

        // HTTP surface.
        .target(
            name: "Gateway",
            dependencies: [
                "Policy", "QuotaCRDT", "SeededRandom",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // Wiring and I/O shells.
        .target(
            name: "Node",
            dependencies: [
                "Gateway", "Policy", "Consensus", "QuotaCRDT", "Storage", "Transport", "BinaryCoding", "CZstd", "CMalloc",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // Test and benchmark support: Raft drivers and quota services of several nodes in
        // one process.
        .target(
            name: "NodeTestSupport",
            dependencies: [
                "Node", "Storage", "Consensus", "Transport", "QuotaCRDT",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        // The upstream simulator (library for in-process tests, executable for the rest).
        .target(
            name: "MockLLM",
            dependencies: [
                "SeededRandom",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "mockllm",
            dependencies: ["MockLLM", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),

        // Executables.
        .executableTarget(
            name: "weir",
            dependencies: [
                "Node",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "clusterctl",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        .executableTarget(
            name: "weir-sim",
            dependencies: [
                "RaftSimulation", "QuotaSimulation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),

        // libFuzzer targets for the decoders of peer, disk and client bytes
        // (scripts/fuzz.sh), and the replay of their corpus in the suite (FuzzCorpusTests).
        .executableTarget(
            name: "weir-fuzz", dependencies: ["Consensus", "QuotaCRDT", "Policy", "Transport", "Gateway", "Node"],
            swiftSettings: strict),

        .executableTarget(
            name: "weir-bench", dependencies: [
                "Node", "NodeTestSupport", "QuotaCRDT", "Storage", "Transport", "MockLLM", "Gateway", "Policy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/weir-bench", swiftSettings: strict),

        // Tests: one target per library module.
        .testTarget(name: "BinaryCodingTests", dependencies: ["BinaryCoding"], swiftSettings: strict),
        .testTarget(
            name: "MockLLMTests",
            dependencies: [
                "MockLLM",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(name: "StorageTests", dependencies: ["Storage"], swiftSettings: strict),
        .testTarget(
            name: "TransportTests",
            dependencies: ["Transport", "BinaryCoding", .product(name: "Atomics", package: "swift-atomics")],
            swiftSettings: strict),
        .testTarget(
            name: "ConsensusTests", dependencies: ["Consensus", "RaftSimulation", "SeededRandom"], exclude: ["Scripts"],
            swiftSettings: strict),
        .testTarget(name: "QuotaCRDTTests", dependencies: ["QuotaCRDT", "QuotaSimulation", "SeededRandom", "BinaryCoding"], swiftSettings: strict),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "SeededRandom"], swiftSettings: strict),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "Policy", "MockLLM", "QuotaCRDT", "NodeTestSupport", "SeededRandom",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "Node", "Storage", "Consensus", "Transport", "NodeTestSupport", "Gateway", "QuotaCRDT", "MockLLM", "SeededRandom",
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
    ]
)
