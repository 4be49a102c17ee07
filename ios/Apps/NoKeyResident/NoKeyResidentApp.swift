// NoKey Resident (iOS): the residents' app. The views render AppLogic's presenters and
// forward events; all logic is in the presenters and the Rust core. Built with Xcode on a
// Mac (ios/project.yml); not built on the Linux test machines.
import AccessCore
import AccessKit
import AppLogic
import SwiftUI

@main
struct NoKeyResidentApp: App {
    @StateObject private var root = AppRoot(app: .nokeyResident, service: "com.lockaccess.resident")

    var body: some Scene {
        WindowGroup {
            if let kit = root.kit, let session = root.session {
                RootView(root: root, session: session, kit: kit) { _ in
                    DoorsView(screen: Screen(DoorsPresenter(kit: kit, bluetooth: root.bluetooth.presenter)),
                              bluetooth: root.bluetooth, session: session.presenter)
                }
            } else {
                Text("This device cannot store the app's data.")
            }
        }
    }
}

/// The resident's doors: open each over Bluetooth, see the passcode and its state, share a
/// guest code, sign out.
struct DoorsView: View {
    @StateObject var screen: Screen<DoorsPresenter, DoorsState>
    @ObservedObject var bluetooth: Screen<BluetoothPresenter, BluetoothState>
    let session: SessionPresenter
    @State private var sharing: SharedText?
    @State private var guestFor: Door?
    @State private var watching: StateObservation?

    var body: some View {
        List {
            BluetoothBanner(bluetooth: bluetooth)
            if screen.state.offline { Text(DoorsState.offlineBanner).font(.footnote) }
            if let p = screen.state.problem { Text(p).foregroundStyle(.red) }
            ForEach(screen.state.doors, id: \.lock.id) { door in
                VStack(alignment: .leading, spacing: 6) {
                    Text(door.lock.name).font(.headline)
                    Text("\(door.lock.propertyName) · \(door.lock.unitName)").font(.caption)
                    if let p = door.passcode { Text("Your passcode \(p.code): \(Self.text(p.state))").font(.footnote) }
                    Button(Self.text(door.unlock)) { screen.send { await $0.unlock(door.lock.id) } }
                    switch door.share {
                    case .allowed: Button("Share a guest code") { guestFor = door }
                    case .notAllowed(let reason): if !reason.isEmpty { Text(reason).font(.caption2) }
                    }
                }
            }
        }
        .navigationTitle("My doors")
        .toolbar { Button("Sign out") { screen.send { await $0.signOut() } } }
        .refreshable { await screen.presenter.refresh() }
        .task {
            watching = screen.presenter.effects.observe { effect in
                Task { @MainActor in
                    switch effect {
                    case .shareText(let text): sharing = SharedText(text: text)
                    case .sessionEnded(let error): session.problem(error)
                    }
                }
            }
            await screen.presenter.started()
        }
        .sheet(item: $sharing) { ShareSheet(text: $0.text) }
        .sheet(item: Binding(get: { guestFor.map { GuestDoor(door: $0) } }, set: { guestFor = $0?.door })) { g in
            GuestCodeForm(door: g.door) { from, until, label in
                guestFor = nil
                screen.send { await $0.shareGuestCode(g.door.lock.id, from: from, until: until, label: label) }
            }
        }
    }

    static func text(_ s: UnlockState) -> String {
        switch s {
        case .idle: return "Open"
        case .searching: return "Looking for the door…"
        case .connecting: return "Connecting…"
        case .opened: return "Opened"
        case .outOfRange(let m), .notNow(let m), .failed(let m): return m
        }
    }

    static func text(_ s: DoorPasscode.State) -> String {
        switch s {
        case .waiting: return "waiting to be installed"
        case .installed: return "installed"
        case .failed(let reason): return "failed" + (reason.map { ": \($0)" } ?? "")
        }
    }
}

struct GuestDoor: Identifiable {
    let door: Door
    var id: String { door.lock.id }
}

/// When the guest may come (whole hours: offline codes are on the hour) and who it is for.
struct GuestCodeForm: View {
    let door: Door
    let done: (Date, Date, String?) -> Void
    @State private var from = Calendar.current.dateInterval(of: .hour, for: Date())!.start
    @State private var hours = 4
    @State private var label = ""

    var body: some View {
        Form {
            Section("Guest code for \(door.lock.name)") {
                DatePicker("From", selection: $from)
                Stepper("For \(hours) hours", value: $hours, in: 1...720)
                TextField("Guest's name (optional)", text: $label)
            }
            Button("Share") {
                let start = Calendar.current.dateInterval(of: .hour, for: from)!.start
                done(start, start.addingTimeInterval(TimeInterval(hours * 3600)), label.isEmpty ? nil : label)
            }
        }
    }
}
