package com.lockaccess.resident

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.Button
import androidx.compose.material3.Card
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import com.lockaccess.app.BluetoothPresenter
import com.lockaccess.app.Door
import com.lockaccess.app.DoorsPresenter
import com.lockaccess.app.PasscodeState
import com.lockaccess.app.ShareState
import com.lockaccess.app.UnlockState
import com.lockaccess.ui.Banner
import com.lockaccess.ui.BluetoothBanner
import java.time.Instant
import java.time.temporal.ChronoUnit

/** The resident's doors: renders [DoorsPresenter]'s state and forwards taps. */
@Composable
fun DoorsScreen(p: DoorsPresenter, bluetooth: BluetoothPresenter) {
    val s by p.state.collectAsState()
    LaunchedEffect(Unit) { p.started() }
    Column {
        BluetoothBanner(bluetooth)
        s.offline?.let { Banner(it) }
        s.problem?.let { Text(it, Modifier.padding(16.dp)) }
        LazyColumn(Modifier.weight(1f)) {
            items(s.doors, key = { it.lock.id }) { door -> DoorCard(door, p) }
        }
        Row(Modifier.padding(16.dp)) {
            TextButton(onClick = { p.refresh() }) { Text("Refresh") }
            TextButton(onClick = { p.signOut() }) { Text("Sign out") }
        }
    }
}

@Composable
private fun DoorCard(door: Door, p: DoorsPresenter) {
    Card(Modifier.padding(12.dp)) {
        Column(Modifier.padding(16.dp)) {
            Text(door.lock.name)
            door.passcode?.let { code ->
                Text("Your passcode: ${code.code} — " + when (val st = code.state) {
                    PasscodeState.Waiting -> "waiting to be installed"
                    PasscodeState.Installed -> "installed"
                    is PasscodeState.Failed -> "not installed" + (st.reason?.let { ": $it" } ?: "")
                })
            }
            Text(when (val u = door.unlock) {
                UnlockState.Idle -> ""
                UnlockState.Searching -> "Looking for the lock…"
                UnlockState.Connecting -> "Connecting…"
                UnlockState.Opened -> "Open"
                is UnlockState.OutOfRange -> u.message
                is UnlockState.NotNow -> u.message
                is UnlockState.Failed -> u.message
            })
            Button(onClick = { p.unlock(door.lock.id) }) { Text("Open") }
            when (val share = door.share) {
                is ShareState.Allowed -> TextButton(onClick = {
                    val hour = Instant.now().truncatedTo(ChronoUnit.HOURS)
                    p.shareGuestCode(door.lock.id, hour, hour.plus(24, ChronoUnit.HOURS), "Guest")
                }) { Text("Share a guest code for today") }
                is ShareState.NotAllowed -> if (share.reason.isNotBlank()) Text(share.reason)
            }
        }
    }
}
