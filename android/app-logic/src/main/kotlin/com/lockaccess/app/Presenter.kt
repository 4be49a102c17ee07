package com.lockaccess.app

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.receiveAsFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/**
 * A screen's logic: an immutable state published as a [StateFlow], events as plain method
 * calls, one-shot effects (share sheet, navigation) as a [Flow] read once each.
 *
 * Each event runs on [scope] and returns its [Job]: a view ignores it, a test joins it and
 * then reads [state]. The app passes a scope that lives as long as the screen (e.g. a
 * ViewModel's); [close] cancels it.
 */
abstract class Presenter<S, E>(initial: S, protected val scope: CoroutineScope) : AutoCloseable {
    private val mutable = MutableStateFlow(initial)
    private val effectChannel = Channel<E>(Channel.BUFFERED)

    val state: StateFlow<S> = mutable.asStateFlow()

    /** One-shot effects, each delivered to one collector once. */
    val effects: Flow<E> = effectChannel.receiveAsFlow()

    protected fun update(change: (S) -> S) = mutable.update(change)

    protected fun emit(effect: E) {
        effectChannel.trySend(effect)
    }

    protected fun event(block: suspend CoroutineScope.() -> Unit): Job = scope.launch(block = block)

    override fun close() = scope.cancel()
}

/** A scope for a presenter that is not given one: background threads, one failure does not end it. */
fun presenterScope(): CoroutineScope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

/** Presenters that have no effects. */
sealed interface NoEffect
