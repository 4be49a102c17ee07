// access-kit: the generated bindings of access-core plus the thin Kotlin layer
// (com.lockaccess.kit). The bindings and the native libraries are build output:
// `generateBindings` runs ../../bindings/generate, `buildNative` runs ../build-native.sh.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

val repoRoot = rootDir.parentFile
val uniffiOut = layout.buildDirectory.dir("generated/uniffi")
val cargoTarget = System.getenv("CARGO_TARGET_DIR") ?: "/var/cache/lock-access/target"
val jniLibsOut = layout.buildDirectory.dir("generated/jniLibs")

// btleplug's Android side is Java (com.nonpolynomial.btleplug.android, and the vendored
// jni-utils io.github.gedgygedgy.rust) that the Rust code reaches through JNI: it ships in the
// crate, so its sources are taken from where cargo unpacked the locked btleplug version.
val btleplugJava: Provider<String> = providers.exec {
    workingDir = repoRoot
    commandLine("cargo", "metadata", "--format-version", "1", "--locked")
}.standardOutput.asText.map { json ->
    val manifest = Regex("\"manifest_path\":\"([^\"]*/btleplug-[0-9][^/\"]*/Cargo\\.toml)\"")
        .find(json)?.groupValues?.get(1) ?: error("btleplug is not among the core's dependencies (cargo metadata)")
    File(manifest).parentFile.resolve("src/droidplug/java/src/main/java").path
}

android {
    namespace = "com.lockaccess.kit"
    compileSdk = 35
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    sourceSets["main"].java.srcDir(uniffiOut.map { it.dir("kotlin") })
    sourceSets["main"].jniLibs.srcDir(jniLibsOut)
    sourceSets["main"].java.srcDir(btleplugJava)
    testOptions.unitTests.all {
        // The JVM tests load the host-built core; scripts/test kotlin runs them without Gradle.
        it.useJUnitPlatform()
        it.systemProperty("jna.library.path", "$cargoTarget/uniffi/debug/lib")
    }
}

kotlin { jvmToolchain(17) }

val generateBindings by tasks.registering(Exec::class) {
    description = "Builds access-core and generates its Kotlin bindings (bindings/generate)."
    workingDir = repoRoot
    commandLine("$repoRoot/bindings/generate", "--out", uniffiOut.get().asFile.path)
}

val buildNative by tasks.registering(Exec::class) {
    description = "Builds libaccess_core.so for the Android ABIs with cargo-ndk (android/build-native.sh)."
    workingDir = repoRoot
    commandLine("$rootDir/build-native.sh", jniLibsOut.get().asFile.path)
}

tasks.named("preBuild") { dependsOn(generateBindings, buildNative) }

dependencies {
    // `@aar`: JNA's Android packaging with its own libjnidispatch.so per ABI.
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.0")
    implementation("androidx.security:security-crypto:1.1.0-alpha06")
    // BluetoothPermissions: ContextCompat.checkSelfPermission and the rationale question.
    implementation("androidx.core:core-ktx:1.13.1")
    testImplementation("org.junit.jupiter:junit-jupiter:5.11.4")
    testImplementation("org.jetbrains.kotlinx:kotlinx-coroutines-test:1.8.0")
    testImplementation("net.java.dev.jna:jna:5.19.1")
}
