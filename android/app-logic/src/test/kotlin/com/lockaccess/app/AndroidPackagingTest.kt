package com.lockaccess.app

import java.io.File
import java.nio.file.Files
import javax.tools.DiagnosticCollector
import javax.tools.JavaFileObject
import javax.tools.ToolProvider
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/**
 * What an APK needs for btleplug's Android side, checked without the Android SDK: its Java
 * sources (from the locked crate) compile against the Android API, the Gradle build of
 * access-kit takes them from cargo, R8 keeps them, and both apps hand btleplug their
 * context through the kit's JNI entry point before the kit opens.
 */
class AndroidPackagingTest {
    private val android = File(env("ACCESS_TEST_ANDROID_DIR"))
    private fun text(path: String) = File(android, path).readText()

    @Test
    fun btleplugsJavaCompilesAgainstTheAndroidApi() {
        val sources = File(env("ACCESS_TEST_BTLEPLUG_JAVA")).walk().filter { it.extension == "java" }.toList()
        assertTrue(sources.any { it.path.endsWith("com/nonpolynomial/btleplug/android/impl/Adapter.java") }, sources.toString())
        assertTrue(sources.any { it.path.contains("io/github/gedgygedgy/rust/") }, sources.toString())
        val javac = ToolProvider.getSystemJavaCompiler() ?: error("no javac in this JDK")
        val out = Files.createTempDirectory("btleplug-classes").toFile()
        val diagnostics = DiagnosticCollector<JavaFileObject>()
        javac.getStandardFileManager(diagnostics, null, null).use { files ->
            val ok = javac.getTask(null, files, diagnostics,
                listOf("-classpath", env("ACCESS_TEST_ANDROID_ALL_JAR"), "-d", out.path, "--release", "17", "-nowarn", "-proc:none"),
                null, files.getJavaFileObjectsFromFiles(sources)).call()
            val errors = diagnostics.diagnostics.filter { it.kind == javax.tools.Diagnostic.Kind.ERROR }
            assertTrue(ok, errors.joinToString("\n"))
        }
        assertTrue(File(out, "com/nonpolynomial/btleplug/android/impl/Peripheral.class").isFile)
    }

    @Test
    fun theKitPackagesKeepsAndInitialisesBtleplug() {
        val gradle = text("access-kit/build.gradle.kts")
        assertTrue(gradle.contains("\"cargo\", \"metadata\"") && gradle.contains("src/droidplug/java/src/main/java"),
            "access-kit's Gradle build takes btleplug's Java sources from cargo")
        assertTrue(Regex("""java\.srcDir\(btleplugJava\)""").containsMatchIn(gradle), "…and adds them to the main source set")
        val rules = text("access-kit/consumer-rules.pro").lines().map { it.trim() }
        for (keep in listOf("-keep class com.nonpolynomial.** { *; }", "-keep class io.github.gedgygedgy.** { *; }")) {
            assertTrue(keep in rules, "consumer-rules.pro lacks: $keep")
        }
        // The core's JNI entry point (AndroidBluetoothTest calls it on the JVM) is kept by R8.
        assertTrue("-keep class com.lockaccess.kit.AndroidBluetooth { *; }" in rules, "consumer-rules.pro keeps AndroidBluetooth")
        // Each app hands over its context at start, from the Application its manifest names.
        for ((module, app) in listOf("access-manager" to "AccessManagerApplication", "nokey-resident" to "NoKeyResidentApplication")) {
            assertTrue(text("$module/src/main/AndroidManifest.xml").contains("android:name=\".$app\""), "$module names $app")
            val pkg = if (module == "access-manager") "manager" else "resident"
            val source = text("$module/src/main/kotlin/com/lockaccess/$pkg/$app.kt")
            assertTrue(source.contains("AndroidBluetooth.init(this)"), "$app hands btleplug its context")
        }
        assertEquals(listOf(":access-kit", ":app-logic", ":access-ui", ":access-manager", ":nokey-resident"),
            Regex("\"(:[a-z-]+)\"").findAll(text("settings.gradle.kts")).map { it.groupValues[1] }.toList())
    }
}
