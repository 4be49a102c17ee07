// Access Manager (iOS): the team members' app. SwiftUI screens over AccessKit; all logic is
// in the Rust core. Built with Xcode on a Mac (an app target depending on the AccessKit
// package and AccessCoreFFI.xcframework); not built on the Linux test machines.
import AccessCore
import AccessKit
import SwiftUI

@main
struct AccessManagerApp: App {
    @State private var kit: AccessKit? = try? AccessKit(
        serverURL: "https://access.example.com",
        dataDirectory: FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0].path,
        app: .accessManager,
        secrets: KeychainSecretStore(service: "com.lockaccess.manager"),
        logger: OSLogLogger(subsystem: "com.lockaccess.manager"))
    @State private var invitation: String?

    var body: some Scene {
        WindowGroup {
            if let kit {
                NavigationStack {
                    if let invitation {
                        RegistrationView(kit: kit, invitation: invitation, appName: "Access Manager") { self.invitation = nil }
                    } else {
                        LockListView(kit: kit)
                    }
                }
                .onOpenURL { invitation = $0.absoluteString }
            } else {
                Text("This device cannot store the app's data.")
            }
        }
    }
}

/// Registration from the invitation; the `+1` rule is shown under the phone field from the start.
struct RegistrationView: View {
    let kit: AccessKit
    let invitation: String
    let appName: String
    let onDone: () -> Void
    @State private var name = "", email = "", phone = PhoneRule.prefix, password = "", code = ""
    @State private var registrationId: String?
    @State private var phoneError: String?
    @State private var error: String?

    var body: some View {
        Form {
            if registrationId == nil {
                Section("Create your \(appName) account") {
                    TextField("Name", text: $name)
                    TextField("Email (any address you like)", text: $email).keyboardType(.emailAddress)
                    TextField("Mobile phone", text: $phone).keyboardType(.phonePad)
                    Text(phoneError ?? PhoneRule.hint).font(.footnote).foregroundStyle(phoneError == nil ? Color.secondary : Color.red)
                    SecureField("Password", text: $password)
                }
                Button("Send me the SMS code") {
                    Task {
                        do {
                            registrationId = try await kit.register(invitation: invitation, email: email, phone: phone, password: password, name: name)
                        } catch AccessKitError.invalidPhone(let message) {
                            phoneError = message
                        } catch { self.error = error.localizedDescription }
                    }
                }
            } else {
                Section("Enter the 6-digit code we texted to \(phone)") {
                    TextField("SMS code", text: $code).keyboardType(.numberPad)
                }
                Button("Verify") {
                    Task {
                        do {
                            _ = try await kit.verifySms(registrationId: registrationId!, code: code)
                            onDone()
                        } catch { self.error = error.localizedDescription }
                    }
                }
            }
            if let error { Text(error).foregroundStyle(.red) }
        }
    }
}

/// Locks in scope from the cache with search; a sync with progress; the offline banner.
struct LockListView: View {
    let kit: AccessKit
    @State private var query = ""
    @State private var locks: [LockInfo] = []
    @State private var progress: Double?
    @State private var offline = false
    @State private var queued: [QueuedActionInfo] = []

    var body: some View {
        List {
            if offline || !queued.isEmpty {
                Section {
                    if offline { Text("Offline: locks and codes shown from this phone's copy.") }
                    ForEach(queued, id: \.id) { Text("Waiting to be sent: \($0.description)") }
                    Button("Retry now") { Task { await refresh() } }
                }
            }
            if let progress { ProgressView(value: progress) }
            ForEach(locks, id: \.id) { lock in
                NavigationLink(value: lock.id) {
                    VStack(alignment: .leading) {
                        Text(lock.name)
                        Text("\(lock.propertyName) · \(lock.unitName)").font(.caption)
                    }
                }
            }
        }
        .searchable(text: $query, prompt: "Lock, unit or property")
        .task(id: query) { locks = (try? await kit.search(query)) ?? [] }
        .task { await refresh() }
        .navigationDestination(for: String.self) { LockDetailView(kit: kit, lockId: $0) }
        .navigationTitle("Locks")
    }

    func refresh() async {
        do {
            for try await event in kit.sync() {
                if case .progress(_, let done, let total) = event, total > 0 { progress = Double(done) / Double(total) }
            }
            offline = false
        } catch let e as AccessKitError {
            offline = e.isTransient
        } catch {}
        progress = nil
        queued = (try? await kit.pendingActions()) ?? []
        locks = (try? await kit.search(query)) ?? []
    }
}

/// One lock with a button per permitted action, and no others.
struct LockDetailView: View {
    let kit: AccessKit
    let lockId: String
    @State private var lock: LockInfo?
    @State private var allowed: Set<Action> = []
    @State private var message: String?

    var body: some View {
        List {
            if let lock {
                Text("\(lock.propertyName) · \(lock.unitName) · \(String(describing: lock.mode))")
                Button("Unlock") { run { try await kit.unlock(lockId); return "Unlocked." } }
                    .disabled(!allowed.contains(.unlock))
                if allowed.contains(.changeMode) {
                    ForEach([LockMode.vacant, .tour, .resident, .maintenance].filter { $0 != lock.mode }, id: \.self) { mode in
                        Button("Switch to \(String(describing: mode))") {
                            run { try await kit.changeMode(lockId, to: mode) == .done ? "Done." : "Saved; sent when back online." }
                        }
                    }
                }
                if allowed.contains(.giveAccess) {
                    Button("Give a one-time code") {
                        run {
                            switch try await kit.giveAccess(lockId, kind: .oneTime, label: "Visitor") {
                            case .created(let code): return "One-time code \(code.code)"
                            case .queued: return "Saved; the code is created when back online."
                            }
                        }
                    }
                }
                if allowed.contains(.resetCodes) { Button("Reset codes") { run { try await kit.resetCodes(lockId); return "Codes reset." } } }
                if allowed.contains(.viewMasterCode) { Button("Show master code") { run { "Master code \(try await kit.masterCode(lockId))" } } }
                if allowed.contains(.viewLogs) {
                    NavigationLink("Access log") { LogsView(kit: kit, lockId: lockId) }
                }
                if allowed.contains(.pair) {
                    NavigationLink("Pair a new lock in \(lock.unitName)") { PairingView(kit: kit, unitId: lock.unitId) }
                }
                if let message { Text(message) }
            }
        }
        .navigationTitle(lock?.name ?? "")
        .task {
            lock = try? await kit.lock(lockId)
            allowed = (try? await kit.allowedActions(lockId)) ?? []
        }
    }

    func run(_ action: @escaping () async throws -> String) {
        Task {
            do { message = try await action() } catch { message = error.localizedDescription }
            lock = try? await kit.lock(lockId)
        }
    }
}

/// Who (user or whose code) did what to the lock, how and when.
struct LogsView: View {
    let kit: AccessKit
    let lockId: String
    @State private var entries: [LogEntryInfo] = []
    @State private var error: String?

    var body: some View {
        List(entries, id: \.id) { e in
            VStack(alignment: .leading) {
                Text("\(e.action) by \(e.userName ?? e.codeLabel.map { "code \($0)" } ?? "unknown")")
                Text("\(e.at.formatted()) · \(e.method) · from \(e.source)").font(.caption)
            }
        }
        .overlay { if let error { Text(error) } }
        .task {
            do { entries = try await kit.logs(lockId) } catch { self.error = error.localizedDescription }
        }
    }
}

/// Pairing on site: scan (locks appear as the stream yields them), pick the factory-fresh
/// one, type the code printed on it, follow the phases.
struct PairingView: View {
    let kit: AccessKit
    let unitId: String
    @State private var nearby: [NearbyLock] = []
    @State private var scanning = false
    @State private var chosen: NearbyLock?
    @State private var code = "", name = ""
    @State private var phase: PairingPhase?
    @State private var message: String?

    var body: some View {
        Form {
            Button(scanning ? "Looking for new locks…" : "Scan for new locks") {
                nearby = []
                scanning = true
                Task {
                    do {
                        for try await lock in kit.scan() where !lock.paired { nearby.append(lock) }
                    } catch { message = error.localizedDescription }
                    scanning = false
                }
            }.disabled(scanning)
            ForEach(nearby, id: \.deviceId) { lock in
                Button(lock.name ?? lock.tag) { chosen = lock }
            }
            if let chosen {
                SecureField("Pairing code printed on the lock", text: $code).keyboardType(.numberPad)
                TextField("Lock name, e.g. Front door", text: $name)
                Button("Pair") {
                    Task {
                        do {
                            for try await event in kit.pair(unitId: unitId, deviceId: chosen.deviceId, pairingCode: code, name: name) {
                                switch event {
                                case .phase(let p): phase = p
                                case .paired(let lock): message = "Paired: \(lock.name)"
                                }
                            }
                        } catch {
                            phase = nil
                            message = error.localizedDescription // wrong code, out of range, not allowed, ...
                        }
                    }
                }.disabled(phase != nil && phase != .done)
            }
            if let phase { Text(String(describing: phase)) }
            if let message { Text(message) }
        }
        .navigationTitle("Pair a lock")
    }
}
