// swift-tools-version:5.9
// AccessKit: the Swift side of the access core, for Access Manager and NoKey Resident.
//
// AccessCoreFFI and AccessCore hold what `bindings/generate` writes (the C header and the
// generated Swift); run it first. The library itself (libaccess_core) is linked from the
// directory given with `-Xlinker -L...` here, or from the XCFramework on Apple platforms
// (build-xcframework.sh).
import PackageDescription

let package = Package(
    name: "AccessKit",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "AccessKit", targets: ["AccessKit"]),
    ],
    targets: [
        .systemLibrary(name: "AccessCoreFFI", path: "Sources/AccessCoreFFI"),
        .target(name: "AccessCore", dependencies: ["AccessCoreFFI"], path: "Sources/AccessCore"),
        .target(name: "AccessKit", dependencies: ["AccessCore"], path: "Sources/AccessKit"),
        // bindings/bench: the cost of one exported call from Swift (Linux and macOS).
        .executableTarget(name: "AccessKitBench", dependencies: ["AccessKit", "AccessCore"], path: "Sources/AccessKitBench"),
        .testTarget(name: "AccessKitTests", dependencies: ["AccessKit", "AccessCore"], path: "Tests/AccessKitTests"),
    ]
)
