package com.lockaccess.app

import java.io.File
import javax.xml.parsers.DocumentBuilderFactory
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.w3c.dom.Document
import org.w3c.dom.Element

/**
 * Both apps' AndroidManifest.xml, as a real phone needs them: the Bluetooth permissions per
 * API level, the Bluetooth LE feature, and each app's own invitation link path.
 */
class ManifestTest {
    private val android = File(env("ACCESS_TEST_ANDROID_DIR"))

    private fun manifest(module: String) = File(android, "$module/src/main/AndroidManifest.xml").readText()

    @Test
    fun bothAppsDeclareBluetoothPerApiLevelAndTheirOwnInvitePath() {
        val manager = Manifest.parse(manifest("access-manager"))
        val resident = Manifest.parse(manifest("nokey-resident"))
        assertEquals(emptyList<String>(), manager.problems("/invite/access-manager"))
        assertEquals(emptyList<String>(), resident.problems("/invite/nokey-resident"))
        assertEquals(emptyList<String>(), Manifest.clashes(manager, resident))
    }

    /** The checks above catch each thing a phone would miss (they are not vacuous). */
    @Test
    fun eachMissingPieceIsCaught() {
        val good = manifest("access-manager")
        fun problems(xml: String) = Manifest.parse(xml).problems("/invite/access-manager")
        fun broken(what: String, xml: String) {
            assertTrue(xml != good, "the edit for '$what' changed nothing")
            assertTrue(problems(xml).any { it.contains(what) }, "'$what' not caught: ${problems(xml)}")
        }
        broken("BLUETOOTH_CONNECT", good.replace("android.permission.BLUETOOTH_CONNECT", "android.permission.X"))
        broken("neverForLocation", good.replace("neverForLocation", ""))
        broken("ACCESS_FINE_LOCATION", good.replace(Regex("(ACCESS_FINE_LOCATION\"\\s+)android:maxSdkVersion=\"30\""), "$1"))
        broken("BLUETOOTH_ADMIN", good.replace("android.permission.BLUETOOTH_ADMIN", "android.permission.Y"))
        broken("bluetooth_le", good.replace("android:required=\"true\"", "android:required=\"false\""))
        broken("/invite/access-manager", good.replace("/invite/access-manager", "/invite"))
        val same = Manifest.parse(manifest("nokey-resident").replace("/invite/nokey-resident", "/invite/access-manager"))
        assertTrue(Manifest.clashes(Manifest.parse(good), same).isNotEmpty(), "two apps on one path not caught")
    }
}

/** The parts of a manifest these checks read. */
class Manifest private constructor(private val doc: Document) {
    companion object {
        private const val NS = "http://schemas.android.com/apk/res/android"

        fun parse(xml: String): Manifest {
            val f = DocumentBuilderFactory.newInstance().apply { isNamespaceAware = true }
            return Manifest(f.newDocumentBuilder().parse(xml.byteInputStream()))
        }

        /** Invitation paths both manifests claim. */
        fun clashes(a: Manifest, b: Manifest): List<String> = a.invitePaths().intersect(b.invitePaths()).toList()

        /** Permission, required maxSdkVersion (null: none allowed), required flag. */
        private val BLUETOOTH = listOf(
            Triple("android.permission.BLUETOOTH_SCAN", null, "neverForLocation"),
            Triple("android.permission.BLUETOOTH_CONNECT", null, null),
            Triple("android.permission.BLUETOOTH", "30", null),
            Triple("android.permission.BLUETOOTH_ADMIN", "30", null),
            Triple("android.permission.ACCESS_FINE_LOCATION", "30", null),
        )
    }

    private fun elements(tag: String): List<Element> =
        doc.getElementsByTagName(tag).let { l -> (0 until l.length).map { l.item(it) as Element } }

    private fun Element.android(name: String): String? = getAttributeNS(NS, name).takeIf { it.isNotEmpty() }

    /** The https paths of VIEW intent filters (`path`, `pathPrefix`, `pathPattern`). */
    fun invitePaths(): Set<String> = elements("intent-filter")
        .filter { f -> f.getElementsByTagName("action").let { l -> (0 until l.length).any { (l.item(it) as Element).android("name") == "android.intent.action.VIEW" } } }
        .flatMap { f -> f.getElementsByTagName("data").let { l -> (0 until l.length).map { l.item(it) as Element } } }
        .mapNotNull { d -> d.android("path") ?: d.android("pathPrefix") ?: d.android("pathPattern") }
        .toSet()

    /** What a phone would miss; empty when the manifest is ready. */
    fun problems(invitePath: String): List<String> {
        val out = mutableListOf<String>()
        val perms = elements("uses-permission").associateBy { it.android("name") }
        for ((name, maxSdk, flag) in BLUETOOTH) {
            val p = perms[name]
            if (p == null) {
                out += "missing permission $name"
                continue
            }
            if (p.android("maxSdkVersion") != maxSdk) {
                out += "$name: maxSdkVersion ${p.android("maxSdkVersion")}, want $maxSdk"
            }
            if (flag != null && p.android("usesPermissionFlags")?.split('|')?.contains(flag) != true) {
                out += "$name: usesPermissionFlags without $flag"
            }
        }
        val le = elements("uses-feature").firstOrNull { it.android("name") == "android.hardware.bluetooth_le" }
        if (le == null || le.android("required") != "true") out += "uses-feature android.hardware.bluetooth_le not required"
        if (invitePath !in invitePaths()) out += "no intent filter for $invitePath (has ${invitePaths()})"
        return out
    }
}
