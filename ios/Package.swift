// swift-tools-version:5.9
// AccessKit: the Swift side of the access core, for Access Manager and NoKey Resident.
//
// AccessCoreFFI and AccessCore hold what `bindings/generate` writes (the C header and the
// generated Swift); run it first. The library itself (libaccess_core) is linked from the
// directory given with `-Xlinker -L...` here, or from the XCFramework on Apple platforms
// (build-xcframework.sh).
import Foundation
import PackageDescription

// On a Mac after build-xcframework.sh, the core comes from the XCFramework; elsewhere from
// the system-library target and `-Xlinker -L...`.
let xcframework = "build/AccessCoreFFI.xcframework"
let packageDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
let coreFFI: Target =
    FileManager.default.fileExists(atPath: "\(packageDir)/\(xcframework)")
    ? .binaryTarget(name: "AccessCoreFFI", path: xcframework)
    : .systemLibrary(name: "AccessCoreFFI", path: "Sources/AccessCoreFFI")

let package = Package(
    name: "AccessKit",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "AccessKit", targets: ["AccessKit"]),
        .library(name: "AppLogic", targets: ["AppLogic"]),
    ],
    targets: [
        coreFFI,
        .target(name: "AccessCore", dependencies: ["AccessCoreFFI"], path: "Sources/AccessCore"),
        .target(name: "AccessKit", dependencies: ["AccessCore"], path: "Sources/AccessKit"),
        // The apps' screen logic (docs/app-screens.md): presenters the SwiftUI views render.
        .target(name: "AppLogic", dependencies: ["AccessKit", "AccessCore"], path: "Sources/AppLogic"),
        // bindings/bench: the cost of one exported call from Swift (Linux and macOS).
        .executableTarget(name: "AccessKitBench", dependencies: ["AccessKit", "AccessCore"], path: "Sources/AccessKitBench"),
        .testTarget(name: "AccessKitTests", dependencies: ["AccessKit", "AccessCore"], path: "Tests/AccessKitTests"),
        .testTarget(name: "AppLogicTests", dependencies: ["AppLogic", "AccessKit", "AccessCore"], path: "Tests/AppLogicTests"),
    ]
)
