// app-logic: the screens' presenters (com.lockaccess.app), shared by Access Manager and NoKey
// Resident. Plain Kotlin and kotlinx-coroutines over access-kit: no Android API is used, but
// access-kit is an Android library (JNA's AAR, the native libraries), and a kotlin-jvm module
// cannot depend on one, so this is an Android library too. Its tests need the suite's server
// and virtual lock, so they run with `scripts/test kotlin` (kotlinc + JUnit), not Gradle.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "com.lockaccess.app"
    compileSdk = 35
    defaultConfig {
        minSdk = 26
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    // The tests walk the apps' days against the real server and lock (scripts/test kotlin).
    sourceSets["test"].java.setSrcDirs(emptyList<String>())
}

kotlin { jvmToolchain(17) }

dependencies {
    api(project(":access-kit"))
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.8.0")
}
