import AccessCore
import AccessKit
import Foundation

/// A screen's logic: holds the screen's state, takes the user's events (async methods of
/// the subclasses), calls the kit and publishes each new state to its observers.
///
/// Not tied to a main actor and free of Combine and SwiftUI, so the same presenters run in
/// the apps and in the Linux tests; a view subscribes with ``observe(_:)`` (or iterates
/// ``states``) and hops to its own actor to render.
///
/// ```swift
/// let signIn = SignInPresenter(kit: kit)
/// let watching = signIn.observe { state in Task { @MainActor in model.render(state) } }
/// signIn.emailChanged("pat@example.com"); signIn.passwordChanged(pw)
/// await signIn.submit()
/// ```
public class Presenter<State>: @unchecked Sendable {
    private let lock = NSLock()
    private var current: State
    private var observers: [Int: (State) -> Void] = [:]
    private var nextObserver = 0

    init(_ initial: State) { current = initial }

    /// The state now.
    public var state: State {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Calls `observer` with the state now, then with every new state, until the returned
    /// ``StateObservation`` is cancelled or released.
    public func observe(_ observer: @escaping (State) -> Void) -> StateObservation {
        lock.lock()
        let id = nextObserver
        nextObserver += 1
        observers[id] = observer
        let now = current
        lock.unlock()
        observer(now)
        return StateObservation { [weak self] in self?.stopObserving(id) }
    }

    /// The state now, then every new state.
    public var states: AsyncStream<State> {
        AsyncStream { continuation in
            let observation = observe { continuation.yield($0) }
            continuation.onTermination = { _ in observation.cancel() }
        }
    }

    /// Applies `change` and tells the observers.
    func update(_ change: (inout State) -> Void) {
        lock.lock()
        change(&current)
        let now = current
        let told = observers.sorted { $0.key < $1.key }.map(\.value)
        lock.unlock()
        for observer in told { observer(now) }
    }

    private func stopObserving(_ id: Int) {
        lock.lock()
        observers[id] = nil
        lock.unlock()
    }
}

/// One-shot effects a screen asks of the platform (a share sheet, leaving the screen): each
/// is delivered once to whoever listens then.
public final class Effects<Effect>: @unchecked Sendable {
    private let lock = NSLock()
    private var listeners: [Int: (Effect) -> Void] = [:]
    private var next = 0

    init() {}

    public func observe(_ listener: @escaping (Effect) -> Void) -> StateObservation {
        lock.lock()
        let id = next
        next += 1
        listeners[id] = listener
        lock.unlock()
        return StateObservation { [weak self] in self?.remove(id) }
    }

    public var stream: AsyncStream<Effect> {
        AsyncStream { continuation in
            let observation = observe { continuation.yield($0) }
            continuation.onTermination = { _ in observation.cancel() }
        }
    }

    func send(_ effect: Effect) {
        lock.lock()
        let told = listeners.sorted { $0.key < $1.key }.map(\.value)
        lock.unlock()
        for listener in told { listener(effect) }
    }

    private func remove(_ id: Int) {
        lock.lock()
        listeners[id] = nil
        lock.unlock()
    }
}

/// Keeps an observer registered; cancelled when released.
public final class StateObservation: @unchecked Sendable {
    private let lock = NSLock()
    private var onCancel: (() -> Void)?

    init(_ onCancel: @escaping () -> Void) { self.onCancel = onCancel }

    public func cancel() {
        lock.lock()
        let run = onCancel
        onCancel = nil
        lock.unlock()
        run?()
    }

    deinit { cancel() }
}

/// The kit's error as the presenters handle it (anything else is the binding failing).
func kitError(_ error: Error) -> AccessKitError {
    (error as? AccessKitError) ?? .internal(String(describing: error))
}

/// The text a screen shows for a failure: the core's own wording.
func message(_ error: Error) -> String {
    kitError(error).errorDescription ?? String(describing: error)
}
