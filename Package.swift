// swift-tools-version:6.1
// FastResize: a batch image resizer. The package layout is described in ARCHITECTURE.md.
import Foundation
import PackageDescription

let package = Package(
    name: "FastResize",
    products: [
        .library(name: "FastResize", targets: ["FastResizePixels", "FastResizePipeline", "FastResize", "FastResizeCodecs"]),
        .executable(name: "fastresize", targets: ["fastresize"]),
        // The metrics server, opened by `fastresize --metrics-listen` from beside the binary.
        .library(name: "FastResizeServer", type: .dynamic, targets: ["FastResizeServer"]),
        // The PostgreSQL client, opened by `--state postgres://…` from beside the binary.
        .library(name: "FastResizePostgresDriver", type: .dynamic, targets: ["FastResizePostgresDriver"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Config files: TOML (toml++ underneath) and YAML (libyaml underneath); both MIT.
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // The job store: SQLite through GRDB (MIT; Debian's libsqlite3 underneath).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // Logs, metrics and the metrics/health server: the Swift server ecosystem's own (Apache-2.0).
        // Hummingbird without its default traits: no swift-configuration to build.
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.70.0"),
        // The job store in PostgreSQL, for workers on several machines (MIT).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.21.0"),
    ],
    targets: [
        // Pixels and kernels (pure): buffers, filters, weights, the resamplers, geometry.
        .target(name: "FastResizePixels", dependencies: ["CResizeKernels"], swiftSettings: optimisedEvenInDebug),
        // AVX2 twins of the pixels' row kernels, chosen at run time (CPUID): no build flags needed.
        .target(name: "CResizeKernels"),
        // One file from bytes to outputs: the codec roles, formats, metadata, settings, the pipeline.
        .target(name: "FastResizePipeline", dependencies: ["FastResizePixels"], swiftSettings: optimisedEvenInDebug),
        // The batch engine: sources, scheduling, the memory budget, atomic files, isolation, events.
        .target(name: "FastResize", dependencies: ["FastResizePipeline"]),

        // Debian's codec libraries, found through pkg-config.
        .systemLibrary(name: "CSPNG", pkgConfig: "spng", providers: [.apt(["libspng-dev"])]),
        .systemLibrary(name: "CWebP", pkgConfig: "libwebp", providers: [.apt(["libwebp-dev"])]),
        // Headers only: libheif and libavif are opened on first use (Sources/CCodecShims/lazy.c).
        .systemLibrary(name: "CHeif", providers: [.apt(["libheif-dev"])]),
        .systemLibrary(name: "CAVIF", providers: [.apt(["libavif-dev"])]),
        .systemLibrary(name: "CGIF", pkgConfig: "libgif", providers: [.apt(["libgif-dev"])]),
        .systemLibrary(name: "CCGIF", pkgConfig: "cgif", providers: [.apt(["libcgif-dev"])]),
        .systemLibrary(name: "CLCMS2", pkgConfig: "lcms2", providers: [.apt(["liblcms2-dev"])]),
        // Header only: libjxl (BSD licence) is opened on first use, as libheif and libavif are.
        .systemLibrary(name: "CJXL", providers: [.apt(["libjxl-dev"])]),
        // Header only: libgd (GIF colour quantisation) is opened at run time; see its shim.h.
        .systemLibrary(name: "CGD", providers: [.apt(["libgd-dev"])]),
        // The only C we write: libjpeg's setjmp error handling, libtiff's message formatting, lazy loading.
        .target(
            name: "CCodecShims",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("tiff")]
        ),

        // Safe Swift decoders and encoders over the C libraries.
        .target(
            name: "FastResizeCodecs",
            dependencies: ["FastResizePipeline", "CCodecShims", "CSPNG", "CWebP", "CHeif", "CAVIF", "CGIF", "CCGIF", "CLCMS2", "CGD", "CJXL"],
            swiftSettings: optimisedEvenInDebug
        ),

        // The job store's side of a run: the JobStore protocol, incremental decisions, content hashes.
        .systemLibrary(name: "CXXHash", pkgConfig: "libxxhash", providers: [.apt(["libxxhash-dev"])]),
        .target(name: "FastResizeJobs", dependencies: ["FastResize", "CXXHash"]),
        // The job store in one SQLite file.
        .target(name: "FastResizeSQLite", dependencies: ["FastResizeJobs", .product(name: "GRDB", package: "GRDB.swift")]),

        // The job store in PostgreSQL: its SQL and behaviour here, the connection through the driver
        // library below (opened at run time, so a run with SQLite or no store loads no swift-nio).
        .target(name: "FastResizeSQLWire"),
        .target(name: "FastResizePostgres", dependencies: ["FastResizeJobs", "FastResizeSQLWire"]),
        .target(
            name: "FastResizePostgresDriver",
            dependencies: ["FastResizeSQLWire", .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "Logging", package: "swift-log")],
            exclude: ["exports.map"],
            linkerSettings: leanReleaseLinking(exporting: "Sources/FastResizePostgresDriver/exports.map")
        ),

        // `fastresize watch`: inotify on a tree, files taken once complete, fed to an open-ended run.
        .target(name: "FastResizeWatch", dependencies: ["FastResize"]),

        // Logs through swift-log: one line per record, as text or JSON; a file reopened on SIGHUP.
        .target(name: "FastResizeLog", dependencies: ["FastResize", .product(name: "Logging", package: "swift-log")]),
        // Metrics through swift-metrics into a Prometheus registry: a subscriber of the run's events.
        .target(
            name: "FastResizeMetrics",
            dependencies: ["FastResize", .product(name: "CoreMetrics", package: "swift-metrics"),
                           .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        // /metrics and the health endpoints over HTTP (Hummingbird): a library of its own, which the
        // command opens only when --metrics-listen asks (a plain run loads none of swift-nio).
        .target(
            name: "FastResizeServer",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["exports.map"],
            linkerSettings: leanReleaseLinking(exporting: "Sources/FastResizeServer/exports.map")
        ),

        // A process restricting itself: Landlock (files, TCP ports), seccomp (decoding workers),
        // no_new_privs. The C makes the calls Swift cannot (variadic prctl and syscall, libseccomp's macros).
        .target(name: "CSandbox", linkerSettings: [.linkedLibrary("seccomp")]),
        .target(name: "FastResizeSandbox", dependencies: ["CSandbox", "FastResizePipeline"]),

        // Settings from the command line, the environment and TOML/YAML config files; profiles.
        .target(
            name: "FastResizeConfig",
            dependencies: ["FastResize", .product(name: "TOMLKit", package: "TOMLKit"), .product(name: "Yams", package: "Yams")]
        ),

        // The command line: argument parsing, progress, exit codes.
        .executableTarget(
            name: "fastresize",
            dependencies: [
                "FastResize", "FastResizeCodecs", "FastResizeConfig", "FastResizeJobs", "FastResizeSQLite", "FastResizePostgres", "FastResizeWatch",
                "FastResizeLog", "FastResizeMetrics", "FastResizeSandbox", "CCodecShims",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: leanReleaseLinking()
        ),

        // Shared by every test target: image generators, the float64 reference, PSNR.
        .target(name: "TestSupport", dependencies: ["FastResize"], path: "Tests/TestSupport"),
        .testTarget(name: "FastResizeTests", dependencies: ["FastResize", "FastResizePixels", "TestSupport"]),
        .testTarget(name: "FastResizeCodecsTests", dependencies: ["FastResize", "FastResizeCodecs", "CCodecShims", "TestSupport"]),
        .testTarget(name: "FastResizeConfigTests", dependencies: ["FastResize", "FastResizeConfig", "TestSupport"]),
        .testTarget(
            name: "FastResizeJobsTests",
            dependencies: ["FastResize", "FastResizeJobs", "FastResizeSQLite", "FastResizePostgres", "CXXHash", "TestSupport",
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "FastResizeWatchTests", dependencies: ["FastResizeWatch", "TestSupport"]),
        .testTarget(
            name: "FastResizeObservabilityTests",
            dependencies: ["FastResize", "FastResizeLog", "FastResizeMetrics", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "FastResizeCLITests",
            dependencies: ["fastresize", "FastResize", "FastResizeCodecs", "FastResizeConfig", "FastResizeJobs", "FastResizeSQLite", "FastResizePostgres",
                           "FastResizeSandbox", "TestSupport"]
        ),
    ]
)

// libFuzzer targets (scripts/fuzz.sh sets FASTRESIZE_FUZZ and builds with the fuzzer and address
// sanitizers): not part of ordinary builds, because libFuzzer supplies the program's main.
if ProcessInfo.processInfo.environment["FASTRESIZE_FUZZ"] != nil {
    package.targets.append(.executableTarget(name: "fastresize-fuzz", dependencies: ["FastResize", "FastResizeCodecs"]))
}

/// The per-pixel code (kernels, the pipeline, the codecs' pixel loops) is compiled optimised in
/// debug builds too: unoptimised, a test that resizes a 380-frame animation took minutes and the
/// suite outgrew its ten. The engine, configuration and command line stay debuggable.
/// Not in a checkout at a version tag: SwiftPM refuses unsafe flags in a package required by
/// version ("contains unsafe build flags"), and that is how another package uses the library.
var optimisedEvenInDebug: [SwiftSetting] {
    Context.gitInformation?.currentTag != nil ? [] : [.unsafeFlags(["-O"], .when(configuration: .debug))]
}

/// Release binaries are linked by the toolchain's lld with their relative relocations packed (RELR,
/// read by glibc 2.36 and later: Debian 12's), exporting nothing of their own — the executable
/// (no library it loads, the two below included, looks a symbol up in it), or (`exporting`, a
/// version script) a library's C entry points alone, so its loader binds its own references at
/// link time instead of looking each up at every start. Gold, the default, left the executable
/// 2.1 MiB of relocation entries and 1 MiB of symbol tables that the loader reads at every start
/// and that stay in the process's memory: a run's peak is 3 to 4 MiB lower without them (README,
/// Performance). Debug builds (the tests) link as ever. Unsafe flags, but at a version tag too (a
/// release is built there): SwiftPM refuses them in the products another package uses, and these
/// targets are in none of those — only in the executable and the two libraries it opens.
func leanReleaseLinking(exporting versionScript: String? = nil) -> [LinkerSetting] {
    let exports = versionScript.map { ["-Xlinker", "--version-script=\(Context.packageDirectory)/\($0)"] } ?? ["-Xlinker", "--no-export-dynamic"]
    return [.unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"] + exports,
                         .when(platforms: [.linux], configuration: .release))]
}
