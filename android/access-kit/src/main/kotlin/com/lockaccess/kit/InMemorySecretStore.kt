package com.lockaccess.kit

import com.lockaccess.core.SecretStore
import java.util.concurrent.ConcurrentHashMap

/**
 * A [SecretStore] that keeps secrets in memory only: for previews, tests and a "don't
 * remember me" session. Apps use the Keystore-backed store in `com.lockaccess.kit.android`.
 */
class InMemorySecretStore : SecretStore {
    private val values = ConcurrentHashMap<String, String>()

    override fun get(key: String): String? = values[key]

    override fun set(key: String, value: String) {
        values[key] = value
    }

    override fun delete(key: String) {
        values.remove(key)
    }
}
