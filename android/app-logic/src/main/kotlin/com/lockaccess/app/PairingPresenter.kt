package com.lockaccess.app

import com.lockaccess.core.LockInfo
import com.lockaccess.core.NearbyLock
import com.lockaccess.core.PairingPhase
import com.lockaccess.core.PairingPlace
import com.lockaccess.kit.AccessKit
import com.lockaccess.kit.AccessKitError
import com.lockaccess.kit.PairingEvent
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.Flow

/**
 * Pairing a lock on site, in Access Manager: choose where (a unit, or a lock created on the
 * web and waiting for its hardware), find the lock nearby, type the code printed on it.
 */
class PairingPresenter(
    private val kit: AccessKit,
    scope: CoroutineScope = presenterScope(),
    /** How long one scan listens. */
    private val scanMs: UInt = 8_000u,
) : Presenter<PairingState, NoEffect>(PairingState(), scope) {
    private var scanning: Job? = null

    /** The units where the user may pair, with their web-created locks waiting (needs the network). */
    fun started(): Job = event {
        update { PairingState(step = PairingStep.Loading) }
        try {
            // The core lists the waiting locks from its cache: bring it up to date first.
            kit.syncNow()
            val places = kit.pairingPlaces()
            update { it.copy(step = PairingStep.ChoosePlace(places)) }
        } catch (e: AccessKitError) {
            update { it.copy(step = PairingStep.Failed(e.message, e.isTransient)) }
        }
    }

    /** A new lock record in [unitId], named [name], for the lock about to be paired. */
    fun chooseUnit(unitId: String, name: String): Job {
        update { it.copy(target = PairingTarget.NewLock(unitId, name)) }
        return scan()
    }

    /** The lock created on the web that this hardware becomes. */
    fun chooseWaitingLock(lockId: String): Job {
        update { it.copy(target = PairingTarget.WaitingLock(lockId)) }
        return scan()
    }

    fun chooseDevice(deviceId: String) {
        scanning?.cancel()
        val s = state.value
        val device = (s.step as? PairingStep.Scanning)?.nearby?.firstOrNull { it.deviceId == deviceId }
            ?: s.device?.takeIf { it.deviceId == deviceId } ?: return
        update { it.copy(device = device, step = PairingStep.EnterCode(device)) }
    }

    fun codeChanged(code: String) = update { it.copy(code = code) }

    fun pair(): Job = event {
        val s = state.value
        val device = s.device ?: return@event
        val target = s.target ?: return@event
        if (s.step is PairingStep.Pairing) return@event
        update { it.copy(step = PairingStep.Pairing(null)) }
        val flow: Flow<PairingEvent> = when (target) {
            is PairingTarget.WaitingLock -> kit.pairOnto(target.lockId, device.deviceId, s.code)
            is PairingTarget.NewLock -> kit.pair(target.unitId, device.deviceId, s.code, target.name)
        }
        try {
            flow.collect { e ->
                update {
                    it.copy(step = when (e) {
                        is PairingEvent.Phase -> PairingStep.Pairing(e.phase)
                        is PairingEvent.Paired -> PairingStep.Paired(e.lock)
                    })
                }
            }
        } catch (e: AccessKitError) {
            update {
                it.copy(step = PairingStep.Failed(e.message,
                    canRetry = e.isTransient || e is AccessKitError.WrongPairingCode))
            }
        }
    }

    /** After a failure: the code again when a lock was chosen, else from the start. */
    fun retry(): Job? {
        val s = state.value
        if (s.step !is PairingStep.Failed) return null
        val device = s.device
        return if (device != null && s.target != null) {
            update { it.copy(step = PairingStep.EnterCode(device), code = "") }
            null
        } else started()
    }

    private fun scan(): Job {
        scanning?.cancel()
        update { it.copy(step = PairingStep.Scanning(emptyList()), device = null) }
        return event {
            try {
                kit.scan(scanMs).collect { lock ->
                    update { s ->
                        val step = s.step as? PairingStep.Scanning ?: return@update s
                        if (step.nearby.any { it.deviceId == lock.deviceId }) s
                        else s.copy(step = PairingStep.Scanning(step.nearby + lock))
                    }
                }
            } catch (e: AccessKitError) {
                update { it.copy(step = PairingStep.Failed(e.message, e.isTransient)) }
            }
        }.also { scanning = it }
    }
}

data class PairingState(
    val step: PairingStep = PairingStep.Loading,
    val target: PairingTarget? = null,
    val device: NearbyLock? = null,
    val code: String = "",
)

sealed class PairingTarget {
    data class NewLock(val unitId: String, val name: String) : PairingTarget()
    data class WaitingLock(val lockId: String) : PairingTarget()
}

sealed class PairingStep {
    data object Loading : PairingStep()
    data class ChoosePlace(val places: List<PairingPlace>) : PairingStep()
    /** Locks advertising nearby, as they are found (paired ones show as such). */
    data class Scanning(val nearby: List<NearbyLock>) : PairingStep()
    data class EnterCode(val device: NearbyLock) : PairingStep()
    /** [phase] as the core reports it; null before the first. */
    data class Pairing(val phase: PairingPhase?) : PairingStep()
    data class Paired(val lock: LockInfo) : PairingStep()
    data class Failed(val message: String, val canRetry: Boolean) : PairingStep()
}
