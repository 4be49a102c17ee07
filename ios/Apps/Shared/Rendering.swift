// Shared by both apps (each target compiles Apps/Shared): the glue between a presenter and
// SwiftUI, the app's root, and the iOS side of BluetoothPlatform. Views only render a
// presenter's state and forward events to it; every decision is in AppLogic and the core.
// Built with Xcode on a Mac (ios/project.yml); not built on the Linux test machines.
import AccessCore
import AccessKit
import AppLogic
import CoreBluetooth
import SwiftUI
import UIKit

/// A presenter's state, re-published on the main actor for SwiftUI.
@MainActor
final class Screen<P, S>: ObservableObject where P: Presenter<S> {
    let presenter: P
    @Published private(set) var state: S
    private var watching: StateObservation?

    init(_ presenter: P) {
        self.presenter = presenter
        state = presenter.state
        // Each change is read afresh on the main actor, so hops that run out of order still
        // end on the latest state.
        watching = presenter.observe { [weak self] _ in
            Task { @MainActor in
                guard let self else { return }
                self.state = self.presenter.state
            }
        }
    }

    /// Forwards an event (async events run in a task).
    func send(_ event: @escaping (P) async -> Void) { Task { await event(presenter) } }

    /// A text field bound to the state, forwarding each change as an event.
    func binding(_ get: @escaping (S) -> String, _ set: @escaping (P) -> (String) -> Void) -> Binding<String> {
        Binding(get: { get(self.state) }, set: { set(self.presenter)($0) })
    }
}

/// The kit, the session root and Bluetooth for one app.
@MainActor
final class AppRoot: ObservableObject {
    let app: App
    let kit: AccessKit?
    let session: Screen<SessionPresenter, SessionState>?
    let bluetooth: Screen<BluetoothPresenter, BluetoothState>
    private let radio: CoreBluetoothPlatform

    init(app: App, service: String) {
        self.app = app
        let dir = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0].path
        kit = try? AccessKit(serverURL: "https://access.example.com", dataDirectory: dir, app: app,
                             secrets: KeychainSecretStore(service: service), logger: OSLogLogger(subsystem: service))
        session = kit.map { Screen(SessionPresenter(kit: $0)) }
        let platform = CoreBluetoothPlatform()
        let bluetoothPresenter = BluetoothPresenter(platform: platform)
        platform.presenter = bluetoothPresenter
        radio = platform
        bluetooth = Screen(bluetoothPresenter)
    }
}

/// Sign-in, registration or the app's home, as the session presenter says.
struct RootView<Home: View>: View {
    @ObservedObject var root: AppRoot
    @ObservedObject var session: Screen<SessionPresenter, SessionState>
    let kit: AccessKit
    @ViewBuilder let home: (UserInfo) -> Home

    var body: some View {
        NavigationStack {
            switch session.state.screen {
            case .signIn:
                SignInView(screen: Screen(SignInPresenter(kit: kit)), problem: session.state.problem,
                           onSignedIn: { user in session.presenter.signedIn(user) },
                           onInvitation: { session.presenter.openedLink("") },
                           onForgotPassword: { email in session.presenter.forgotPassword(email: email) })
            case .passwordReset(let email):
                PasswordResetView(screen: Screen(PasswordResetPresenter(kit: kit, email: email)),
                                  onBack: { session.presenter.backToSignIn() })
            case .register(let invitation):
                RegistrationView(screen: Screen(RegistrationPresenter(kit: kit, app: root.app, invitation: invitation)),
                                 onDone: { user in session.presenter.signedIn(user) },
                                 onCancel: { Task { await session.presenter.started() } })
            case .home(let user):
                home(user)
            }
        }
        .task { await session.presenter.started() }
        // Invitation links (applinks:access.example.com, /invite/<app>?token=...).
        .onOpenURL { session.presenter.openedLink($0.absoluteString) }
    }
}

struct SignInView: View {
    @StateObject var screen: Screen<SignInPresenter, SignInState>
    let problem: String?
    let onSignedIn: (UserInfo) -> Void
    let onInvitation: () -> Void
    let onForgotPassword: (String) -> Void

    var body: some View {
        Form {
            if let problem { Text(problem).foregroundStyle(.red) }
            TextField("Email", text: screen.binding(\.email, SignInPresenter.emailChanged))
                .keyboardType(.emailAddress).textInputAutocapitalization(.never)
            SecureField("Password", text: screen.binding(\.password, SignInPresenter.passwordChanged))
            Button(screen.state.busy ? "Signing in…" : "Sign in") { screen.send { await $0.submit() } }
                .disabled(screen.state.busy)
            if let p = screen.state.problem { Text(p).foregroundStyle(.red) }
            Button("I have an invitation code", action: onInvitation)
            Button("Forgot password?") { onForgotPassword(screen.state.email) }
        }
        .navigationTitle("Sign in")
        .onChange(of: screen.state.signedIn) { user in if let user { onSignedIn(user) } }
    }
}

struct RegistrationView: View {
    @StateObject var screen: Screen<RegistrationPresenter, RegistrationState>
    let onDone: (UserInfo) -> Void
    let onCancel: () -> Void

    var body: some View {
        Form {
            switch screen.state.step {
            case .details:
                Section("Your invitation") {
                    TextField("Invitation link or code", text: screen.binding(\.invitation, RegistrationPresenter.invitationChanged))
                        .textInputAutocapitalization(.never)
                }
                Section("Your account") {
                    TextField("Name", text: screen.binding(\.name, RegistrationPresenter.nameChanged))
                    TextField("Email", text: screen.binding(\.email, RegistrationPresenter.emailChanged))
                        .keyboardType(.emailAddress).textInputAutocapitalization(.never)
                    TextField("Username, e.g. jane.doe", text: screen.binding(\.username, RegistrationPresenter.usernameChanged))
                        .textInputAutocapitalization(.never).autocorrectionDisabled()
                    if let p = screen.state.usernameProblem { Text(p).font(.footnote).foregroundStyle(.red) }
                    TextField("Mobile phone, e.g. \(PhoneRule.example)", text: screen.binding(\.phone, RegistrationPresenter.phoneChanged))
                        .keyboardType(.phonePad)
                    Text(screen.state.phoneProblem ?? PhoneRule.hint).font(.footnote)
                        .foregroundStyle(screen.state.phoneProblem == nil ? Color.secondary : Color.red)
                    SecureField("Password", text: screen.binding(\.password, RegistrationPresenter.passwordChanged))
                }
                Button("Send me the SMS code") { screen.send { await $0.submit() } }.disabled(screen.state.busy)
            case .smsCode:
                Section("Enter the 6-digit code we texted to \(screen.state.phone)") {
                    TextField("SMS code", text: screen.binding(\.smsCode, RegistrationPresenter.smsCodeChanged))
                        .keyboardType(.numberPad)
                }
                Button("Verify") { screen.send { await $0.verify() } }.disabled(screen.state.busy)
            case .done:
                ProgressView()
            }
            if let p = screen.state.problem { Text(p).foregroundStyle(.red) }
            Button("Back to sign-in", role: .cancel, action: onCancel)
        }
        .navigationTitle(screen.state.app == .accessManager ? "Join Access Manager" : "Join NoKey")
        .onChange(of: screen.state.step) { step in if case .done(let user) = step { onDone(user) } }
    }
}

/// Forgot password: the email, then the link from the mail, the texted code and the new
/// password, as ``PasswordResetPresenter`` says.
struct PasswordResetView: View {
    @StateObject var screen: Screen<PasswordResetPresenter, PasswordResetState>
    let onBack: () -> Void

    var body: some View {
        Form {
            switch screen.state.step {
            case .request:
                TextField("Email", text: screen.binding(\.email, PasswordResetPresenter.emailChanged))
                    .keyboardType(.emailAddress).textInputAutocapitalization(.never)
                Button("Send me a reset link") { screen.send { await $0.request() } }.disabled(screen.state.busy)
            case .confirm(let sentence):
                if let sentence { Text(sentence) }
                TextField("Link or code from the email", text: screen.binding(\.link, PasswordResetPresenter.linkChanged))
                    .textInputAutocapitalization(.never).autocorrectionDisabled()
                TextField("SMS code", text: screen.binding(\.smsCode, PasswordResetPresenter.smsCodeChanged))
                    .keyboardType(.numberPad)
                if let p = screen.state.codeProblem { Text(p).font(.footnote).foregroundStyle(.red) }
                SecureField("New password", text: screen.binding(\.newPassword, PasswordResetPresenter.newPasswordChanged))
                if let p = screen.state.passwordProblem { Text(p).font(.footnote).foregroundStyle(.red) }
                Button("Set the new password") { screen.send { await $0.confirm() } }.disabled(screen.state.busy)
                Button("Send a new link") { screen.presenter.startOver() }
            case .done:
                Text(PasswordResetState.done)
            }
            if let p = screen.state.problem { Text(p).foregroundStyle(.red) }
            Button("Back to sign-in", role: .cancel, action: onBack)
        }
        .navigationTitle("Reset your password")
    }
}

/// What Bluetooth needs, shown above the screens that talk to locks.
struct BluetoothBanner: View {
    @ObservedObject var bluetooth: Screen<BluetoothPresenter, BluetoothState>

    var body: some View {
        Group {
            switch bluetooth.state {
            case .ready: EmptyView()
            case .mustAsk: Button("Allow Bluetooth to open doors") { bluetooth.presenter.ask() }
            case .refused(let m): VStack(alignment: .leading) { Text(m); Button("Allow") { bluetooth.presenter.ask() } }
            case .refusedForever(let m): VStack(alignment: .leading) { Text(m); Button("Open Settings") { bluetooth.presenter.openSettings() } }
            case .off(let m): Text(m)
            }
        }
        .onAppear { bluetooth.presenter.check() }
    }
}

/// The system share sheet for a text (a guest code).
struct ShareSheet: UIViewControllerRepresentable {
    let text: String
    func makeUIViewController(context: Context) -> UIActivityViewController {
        UIActivityViewController(activityItems: [text], applicationActivities: nil)
    }
    func updateUIViewController(_ controller: UIActivityViewController, context: Context) {}
}

/// A text to share, for `.sheet(item:)`.
struct SharedText: Identifiable {
    let text: String
    var id: String { text }
}

/// iOS's Bluetooth permission and radio for BluetoothPresenter: `CBManager.authorization`
/// and `CBCentralManager.state`. The manager is created on first use: creating it shows the
/// system prompt, so it waits until the user asks.
final class CoreBluetoothPlatform: NSObject, BluetoothPlatform, CBCentralManagerDelegate {
    weak var presenter: BluetoothPresenter?
    private var central: CBCentralManager?

    func authorization() -> BluetoothAuthorization {
        switch CBManager.authorization {
        case .allowedAlways: return .granted
        case .notDetermined: return .notDetermined
        // iOS shows its prompt once: after a refusal only the Settings app can allow it.
        case .denied, .restricted: return .denied(canAskAgain: false)
        @unknown default: return .denied(canAskAgain: false)
        }
    }

    func isBluetoothOn() -> Bool {
        if central == nil, CBManager.authorization == .allowedAlways { central = CBCentralManager(delegate: self, queue: nil) }
        return central?.state == .poweredOn
    }

    func requestPermission() {
        if central == nil { central = CBCentralManager(delegate: self, queue: nil) }
    }

    func openSettings() {
        if let url = URL(string: UIApplication.openSettingsURLString) { UIApplication.shared.open(url) }
    }

    func centralManagerDidUpdateState(_ central: CBCentralManager) {
        switch central.state {
        case .unauthorized: presenter?.permissionResult(granted: false, canAskAgain: false)
        case .poweredOn, .poweredOff:
            presenter?.permissionResult(granted: true, canAskAgain: true)
            presenter?.bluetoothChanged(on: central.state == .poweredOn)
        default: break
        }
    }
}
