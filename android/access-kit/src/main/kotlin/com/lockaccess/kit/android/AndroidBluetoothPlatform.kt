package com.lockaccess.kit.android

import android.Manifest
import android.app.Activity
import android.bluetooth.BluetoothManager
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.provider.Settings
import androidx.core.app.ActivityCompat
import androidx.core.content.ContextCompat
import com.lockaccess.kit.BluetoothPlatform

/**
 * [BluetoothPlatform] on a phone. API 31+: the "nearby devices" permissions; before: fine
 * location. The activity's `onRequestPermissionsResult` hands the answer to the presenter
 * with [canAskAgain].
 */
class AndroidBluetoothPlatform(private val activity: Activity, private val requestCode: Int = 7301) : BluetoothPlatform {
    val permissions: Array<String> =
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) arrayOf(Manifest.permission.BLUETOOTH_SCAN, Manifest.permission.BLUETOOTH_CONNECT)
        else arrayOf(Manifest.permission.ACCESS_FINE_LOCATION)

    override fun hasPermission(): Boolean =
        permissions.all { ContextCompat.checkSelfPermission(activity, it) == PackageManager.PERMISSION_GRANTED }

    /** After a refusal: false when the user chose "don't ask again". */
    fun canAskAgain(): Boolean = permissions.any { ActivityCompat.shouldShowRequestPermissionRationale(activity, it) }

    override fun isOn(): Boolean = activity.getSystemService(BluetoothManager::class.java)?.adapter?.isEnabled == true

    override fun requestPermission() = ActivityCompat.requestPermissions(activity, permissions, requestCode)

    override fun openSettings() = activity.startActivity(
        Intent(Settings.ACTION_APPLICATION_DETAILS_SETTINGS, Uri.fromParts("package", activity.packageName, null)))
}
