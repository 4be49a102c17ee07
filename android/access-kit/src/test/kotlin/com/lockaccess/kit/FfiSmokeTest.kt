package com.lockaccess.kit

import com.lockaccess.core.App
import com.lockaccess.core.fileSecretStore
import java.nio.file.Files
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test

/** The generated bindings load the real library and call through it, no server needed. */
class FfiSmokeTest {
    @Test
    fun fileSecretStoreOfTheCoreKeepsValuesOnDisk() {
        val dir = Files.createTempDirectory("secrets")
        val path = dir.resolve("secrets.json").toString()
        val store = fileSecretStore(path)
        assertNull(store.get("token"))
        store.set("token", "abc")
        assertEquals("abc", fileSecretStore(path).get("token"))
        assertTrue(Files.readString(dir.resolve("secrets.json")).contains("abc"))
        store.delete("token")
        assertNull(fileSecretStore(path).get("token"))
    }

    @Test
    fun aNewKitHasNobodySignedInAndAnEmptyCache() = runBlocking<Unit> {
        AccessKit.open("http://127.0.0.1:9", TestServer.deviceDir(), App.ACCESS_MANAGER, InMemorySecretStore()).use { kit ->
            assertNull(kit.currentUser())
            assertEquals(emptyList<Any>(), kit.locks())
            assertEquals(emptyList<Any>(), kit.search("oak"))
        }
    }
}
