package com.lockaccess.kit

import java.io.File
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows

/**
 * The Android apps' Bluetooth initialisation goes through one JNI symbol of the real core
 * library. On Linux the core answers that btleplug needs no JVM here; what this proves is
 * that [AndroidBluetooth]'s declaration and the Rust export (`core/src/android.rs`) meet: a
 * renamed package, object, method or parameter list fails with an UnsatisfiedLinkError.
 */
class AndroidBluetoothTest {
    @Test
    fun theKitsDeclarationReachesTheCoresJniEntryPoint() {
        val dir = System.getProperty("jna.library.path") ?: error("jna.library.path is not set: run scripts/test kotlin")
        System.load(File(dir, "libaccess_core.so").absolutePath)
        val thrown = assertThrows<RuntimeException> { AndroidBluetooth.nativeInit(Any()) }
        assertTrue(thrown.message.orEmpty().contains("only on Android"), thrown.toString())
    }
}
