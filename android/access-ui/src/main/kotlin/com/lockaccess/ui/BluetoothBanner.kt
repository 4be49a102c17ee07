package com.lockaccess.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import com.lockaccess.app.BluetoothPresenter
import com.lockaccess.app.BluetoothState

/** What stands between the user and their doors, from [BluetoothPresenter]; nothing when ready. */
@Composable
fun BluetoothBanner(p: BluetoothPresenter) {
    val s by p.state.collectAsState()
    if (s is BluetoothState.Ready) return
    Surface(tonalElevation = 4.dp, modifier = Modifier.fillMaxWidth()) {
        Column(Modifier.padding(12.dp)) {
            Text(s.message ?: "This app opens doors over Bluetooth.")
            when (s) {
                BluetoothState.MustAsk, is BluetoothState.Refused -> Button(onClick = p::ask) { Text("Allow Bluetooth") }
                is BluetoothState.RefusedForever -> Button(onClick = p::ask) { Text("Open settings") }
                else -> {}
            }
        }
    }
}

/** The offline banner, with the text the presenter gives. */
@Composable
fun Banner(text: String) {
    Surface(tonalElevation = 4.dp, modifier = Modifier.fillMaxWidth()) { Text(text, Modifier.padding(12.dp)) }
}
