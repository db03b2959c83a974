// swift-tools-version:6.1
// FastResize benchmarks (package-benchmark): kernel throughput and allocations. Kept in a package of
// its own so the main build and CI never compile the benchmark harness. Run from this folder:
//   swift package --allow-writing-to-package-directory benchmark
import PackageDescription

let package = Package(
    name: "FastResizeBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "FastResize", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "ResizeKernels",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FastResize", package: "FastResize"),
            ],
            path: "Benchmarks/ResizeKernels",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
