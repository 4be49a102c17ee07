// Access Manager (iOS): the team members' app. The views render AppLogic's presenters and
// forward events; all logic is in the presenters and the Rust core. Built with Xcode on a
// Mac (ios/project.yml); not built on the Linux test machines.
import AccessCore
import AccessKit
import AppLogic
import SwiftUI

@main
struct AccessManagerApp: App {
    @StateObject private var root = AppRoot(app: .accessManager, service: "com.lockaccess.manager")

    var body: some Scene {
        WindowGroup {
            if let kit = root.kit, let session = root.session {
                RootView(root: root, session: session, kit: kit) { _ in
                    LocksView(screen: Screen(LocksPresenter(kit: kit)), kit: kit, root: root, session: session.presenter)
                }
            } else {
                Text("This device cannot store the app's data.")
            }
        }
    }
}

/// The locks in scope from the phone's copy, with search, sync progress, the offline banner
/// and the queue; pairing and sign-out in the toolbar.
struct LocksView: View {
    @StateObject var screen: Screen<LocksPresenter, LocksState>
    let kit: AccessKit
    @ObservedObject var root: AppRoot
    let session: SessionPresenter
    @State private var watching: StateObservation?

    var body: some View {
        List {
            BluetoothBanner(bluetooth: root.bluetooth)
            switch screen.state.sync {
            case .idle: EmptyView()
            case .running(let done, let total): ProgressView(value: total > 0 ? Double(done) / Double(total) : 0)
            case .failed(let m): Text(m).foregroundStyle(.red)
            }
            if screen.state.offline { Text(LocksState.offlineBanner).font(.footnote) }
            if !screen.state.queued.isEmpty {
                Section("Waiting to be sent") { ForEach(screen.state.queued, id: \.id) { Text($0.description) } }
            }
            if !screen.state.failed.isEmpty {
                Section("Refused by the server") {
                    ForEach(screen.state.failed, id: \.id) { a in
                        HStack {
                            VStack(alignment: .leading) { Text(a.description); Text(a.errorMessage ?? "").font(.caption) }
                            Button("Dismiss") { screen.send { await $0.dismissFailed(a.id) } }
                        }
                    }
                }
            }
            ForEach(screen.state.locks, id: \.id) { lock in
                NavigationLink(value: lock.id) {
                    VStack(alignment: .leading) {
                        Text(lock.name)
                        Text("\(lock.propertyName) · \(lock.unitName)\(lock.paired ? "" : " · not paired")").font(.caption)
                    }
                }
            }
        }
        .searchable(text: screen.binding(\.query, { p in { q in Task { await p.queryChanged(q) } } }),
                    prompt: "Lock, unit or property")
        .refreshable { await screen.presenter.refresh() }
        .navigationTitle("Locks")
        .navigationDestination(for: String.self) { LockView(screen: Screen(LockPresenter(kit: kit, lockId: $0))) }
        .toolbar {
            NavigationLink("Pair a lock") { PairingView(screen: Screen(PairingPresenter(kit: kit))) }
            Button("Sign out") { screen.send { await $0.signOut() } }
        }
        .task {
            watching = screen.presenter.effects.observe { effect in
                Task { @MainActor in
                    if case .sessionEnded(let error) = effect { session.problem(error) }
                }
            }
            await screen.presenter.started()
        }
    }
}

/// One lock: the actions the core allows (the others listed with the core's reason), codes,
/// log, master code, and a contact at the lock.
struct LockView: View {
    @StateObject var screen: Screen<LockPresenter, LockState>
    @State private var newName = ""
    @State private var renaming = false

    var body: some View {
        List {
            if let lock = screen.state.lock {
                Section {
                    Text("\(lock.propertyName) · \(lock.unitName)")
                    Text("Mode: \(String(describing: lock.mode))")
                    if let s = screen.state.onSite { Text("At the lock: battery \(s.battery)%, firmware \(s.firmware)") }
                    if let d = screen.state.door {
                        Text(d.inStep ? "In step with the platform" : "\(d.pendingCodes) codes waiting for a phone at the lock")
                        if let b = d.battery { Text("Battery \(b)%" + (d.lowBattery ? " (low)" : "")) }
                        if let app = d.lastContactApp { Text("Last contact by \(app)") }
                    }
                    Button("I'm at the lock: update it") { screen.send { await $0.atTheLock() } }
                }
            }
            if let o = screen.state.outcome { Text(o == .done ? "Done." : "Saved on this phone; sent when back online.") }
            if let p = screen.state.problem { Text(p).foregroundStyle(.red) }
            Section("Actions") {
                if screen.state.allows(.rename) { Button("Rename") { renaming = true } }
                if screen.state.allows(.changeMode), let mode = screen.state.lock?.mode {
                    ForEach([LockMode.vacant, .tour, .resident, .maintenance].filter { $0 != mode }, id: \.self) { m in
                        Button("Switch to \(String(describing: m))") { screen.send { await $0.changeMode(m) } }
                    }
                }
                if screen.state.allows(.giveAccess) {
                    Button("Give a one-time code") { screen.send { await $0.giveCode(.oneTime, label: "Visitor", window: nil) } }
                }
                if screen.state.allows(.resetCodes) { Button("Reset codes", role: .destructive) { screen.send { await $0.resetCodes() } } }
                if screen.state.allows(.viewLogs) { Button("Show the access log") { screen.send { await $0.showLog() } } }
                if screen.state.allows(.viewMasterCode) { Button("Show the master code") { screen.send { await $0.revealMasterCode() } } }
                if let code = screen.state.masterCode { Text("Master code \(code)").font(.body.monospaced()) }
            }
            let hidden = screen.state.actions.filter { !$0.allowed }
            if !hidden.isEmpty {
                Section("Not available to you") {
                    ForEach(hidden, id: \.action) { row in Text(row.reason ?? String(describing: row.action)).font(.caption) }
                }
            }
            if !screen.state.codes.isEmpty {
                Section("Access codes") {
                    ForEach(screen.state.codes, id: \.id) { c in
                        Text("\(c.label ?? "Code") \(c.code) · \(String(describing: c.syncState))\(c.failureReason.map { ": \($0)" } ?? "")")
                            .swipeActions {
                                if screen.state.allows(.giveAccess) {
                                    Button("Remove at the lock", role: .destructive) { screen.send { await $0.removeCode(c.id) } }
                                }
                            }
                    }
                }
            }
            if !screen.state.log.isEmpty {
                Section("Access log") {
                    ForEach(screen.state.log, id: \.id) { e in
                        VStack(alignment: .leading) {
                            Text("\(e.action) by \(e.userName ?? e.codeLabel.map { "code \($0)" } ?? "unknown")")
                            Text("\(e.at.formatted()) · \(e.method) · from \(e.source)").font(.caption)
                        }
                    }
                }
            }
        }
        .navigationTitle(screen.state.lock?.name ?? "")
        .task { await screen.presenter.started() }
        .alert("Rename the lock", isPresented: $renaming) {
            TextField("Name", text: $newName)
            Button("Rename") { let name = newName; screen.send { await $0.rename(name) } }
            Button("Cancel", role: .cancel) {}
        }
    }
}

/// Pairing on site: the unit (or a lock created on the web), the lock nearby, its code.
struct PairingView: View {
    @StateObject var screen: Screen<PairingPresenter, PairingState>
    @State private var newLockName = ""

    var body: some View {
        Form {
            switch screen.state.step {
            case .choosePlace(let places):
                TextField("Name for a new lock, e.g. Front door", text: $newLockName)
                ForEach(places, id: \.unitId) { place in
                    Section("\(place.propertyName) · \(place.unitName)") {
                        Button("Pair a new lock here") {
                            let name = newLockName
                            screen.send { await $0.chooseUnit(place.unitId, name: name) }
                        }.disabled(newLockName.isEmpty)
                        ForEach(place.waitingLocks, id: \.id) { lock in
                            Button("Pair \(lock.name) (created on the web)") { screen.send { await $0.chooseWaitingLock(lock.id) } }
                        }
                    }
                }
                if places.isEmpty && !screen.state.busy { Text("No unit where you may pair locks.") }
            case .scanning(let nearby):
                if screen.state.busy { ProgressView("Looking for locks nearby…") }
                ForEach(nearby, id: \.deviceId) { lock in
                    Button("\(lock.name ?? lock.tag)\(lock.paired ? " (paired)" : "")") { screen.presenter.chooseDevice(lock.deviceId) }
                }
            case .enterCode(let device):
                Section("The code printed on \(device.name ?? device.tag)") {
                    SecureField("Pairing code", text: screen.binding(\.code, PairingPresenter.codeChanged)).keyboardType(.numberPad)
                }
                Button("Pair") { screen.send { await $0.pair() } }
            case .pairing(let phase):
                ProgressView(phase.map { String(describing: $0) } ?? "Connecting…")
            case .paired(let lock):
                Text("Paired: \(lock.name) in \(lock.unitName)")
            case .failed(let message, let canRetry):
                Text(message).foregroundStyle(.red)
                if canRetry { Button("Try again") { screen.send { await $0.retry() } } }
            }
        }
        .navigationTitle("Pair a lock")
        .task { await screen.presenter.started() }
    }
}
