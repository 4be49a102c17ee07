// NoKey Resident (iOS): the residents' app. SwiftUI screens over AccessKit; all logic is in
// the Rust core. Built with Xcode on a Mac; not built on the Linux test machines.
// The registration screen is the same as Access Manager's (shared file in the Xcode project:
// Apps/AccessManager/AccessManagerApp.swift's RegistrationView).
import AccessCore
import AccessKit
import SwiftUI

@main
struct NoKeyResidentApp: App {
    @State private var kit: AccessKit? = try? AccessKit(
        serverURL: "https://access.example.com",
        dataDirectory: FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0].path,
        app: .nokeyResident,
        secrets: KeychainSecretStore(service: "com.lockaccess.resident"),
        logger: OSLogLogger(subsystem: "com.lockaccess.resident"))

    var body: some Scene {
        WindowGroup {
            if let kit { NavigationStack { HomeView(kit: kit) } } else { Text("This device cannot store the app's data.") }
        }
    }
}

/// The resident's locks and their own passcode on each, from the cache (works offline).
struct HomeView: View {
    let kit: AccessKit
    @State private var locks: [LockInfo] = []
    @State private var passcodes: [String: PasscodeInfo] = [:]
    @State private var offline = false
    @State private var message: String?

    var body: some View {
        List {
            if offline { Text("Offline: showing the codes saved on this phone.") }
            ForEach(locks, id: \.id) { lock in
                VStack(alignment: .leading) {
                    Text(lock.name)
                    if let code = passcodes[lock.id] {
                        Text("Your passcode: \(code.code) (\(String(describing: code.syncState)))").font(.caption)
                    }
                    Button("Unlock") {
                        Task {
                            do { try await kit.unlock(lock.id); message = "Unlocked." } catch { message = error.localizedDescription }
                        }
                    }
                }
            }
            if let message { Text(message) }
        }
        .navigationTitle("My doors")
        .task {
            do { _ = try await kit.syncNow() } catch let e as AccessKitError { offline = e.isTransient } catch {}
            locks = (try? await kit.locks()) ?? []
            passcodes = Dictionary(((try? await kit.myPasscodes()) ?? []).map { ($0.lockId, $0) }, uniquingKeysWith: { a, _ in a })
        }
    }
}
