package com.lockaccess.kit.android

import android.content.Context
import android.content.SharedPreferences
import androidx.security.crypto.EncryptedSharedPreferences
import androidx.security.crypto.MasterKey
import com.lockaccess.core.SecretStore

/**
 * The session secret encrypted with a key held by the Android Keystore (AES-256-GCM,
 * through androidx.security's EncryptedSharedPreferences). Android only: not compiled by
 * the JVM suite (scripts/test kotlin), which uses [com.lockaccess.kit.InMemorySecretStore]
 * and the core's file store instead.
 */
class KeystoreSecretStore(context: Context, fileName: String = "access-core-secrets") : SecretStore {
    private val prefs: SharedPreferences = EncryptedSharedPreferences.create(
        context,
        fileName,
        MasterKey.Builder(context).setKeyScheme(MasterKey.KeyScheme.AES256_GCM).build(),
        EncryptedSharedPreferences.PrefKeyEncryptionScheme.AES256_SIV,
        EncryptedSharedPreferences.PrefValueEncryptionScheme.AES256_GCM,
    )

    override fun get(key: String): String? = prefs.getString(key, null)

    // commit(), not apply(): the core relies on the secret being stored when this returns.
    override fun set(key: String, value: String) {
        check(prefs.edit().putString(key, value).commit()) { "could not store $key" }
    }

    override fun delete(key: String) {
        check(prefs.edit().remove(key).commit()) { "could not delete $key" }
    }
}
