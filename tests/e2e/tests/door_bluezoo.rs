//! The door follows the platform on ordinary contacts, at the door: the `access` CLI (one
//! home directory per phone) through btleplug and BlueZoo against the `virtual-lock`
//! binary and the real server. The platform's changes are made over the web API, as a
//! property manager does on the web page; the phones only sign in, sync, unlock and read the
//! status; codes are typed on the lock's keypad (`keypad DIGITS` on its stdin). No lock
//! command that installs codes or sets a mode over Bluetooth is used.

mod rig;
mod support;

use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};

use rig::{BluezooRig, access_binary};
use support::{Admin, Rig, Server};

const PASSWORD: &str = "pw-123456789";

/// A phone: the `access` CLI on its own home directory, as one app.
struct Phone {
    home: tempfile::TempDir,
    app: &'static str,
    user_id: String,
}

/// Exit code, stdout, stderr.
type Out = (i32, String, String);

/// A paired lock on BlueZoo, the server, its administrator, the unit and the team member's
/// phone that paired the lock.
struct Site {
    rig: BluezooRig,
    server: Server,
    admin: Admin,
    unit: String,
    staff: Phone,
    lock: String,
    phones: u32,
}

fn run(home: &Path, app: &str, server: &str, adapter: &str, args: &[&str]) -> Out {
    let out = Command::new(access_binary())
        .args(["--server", server, "--app", app, "--home"])
        .arg(home)
        .args(args)
        .env("ACCESS_BLE_ADAPTER", adapter)
        .env("ACCESS_PASSWORD", PASSWORD)
        .env("ACCESS_TIMEOUT_MS", "3000")
        .output()
        .expect("access runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(args: &[&str], (code, out, err): Out) -> String {
    assert_eq!(code, 0, "access {args:?}\nstdout: {out}\nstderr: {err}");
    out
}

/// A field of the "in step" line `access -v` logs when a contact is done (`round_trips`,
/// `bytes_out`, `bytes_in`, `entries`).
fn in_step_field(log: &str, key: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.contains("in step"))
        .unwrap_or_else(|| panic!("no \"in step\" in {log}"));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}

fn opened(outcome: &str) -> bool {
    outcome.contains("Opened")
}

impl Site {
    /// BlueZoo, the virtual lock, the server, a unit, a team member registered through the
    /// CLI, who scans and pairs the lock.
    async fn paired(tag: &str) -> Site {
        let rig = BluezooRig::start(0).await;
        let (server, admin, unit) = support::site().await;
        let mut site = Site {
            rig,
            server,
            admin,
            unit,
            staff: Phone {
                home: tempfile::tempdir().unwrap(),
                app: "manager",
                user_id: String::new(),
            },
            lock: String::new(),
            phones: 0,
        };
        let perms = support::all_permissions();
        site.staff = site
            .register("team_member", &format!("tech-{tag}@example.test"), &perms)
            .await;
        let device = support::Rig::device_id(&site.rig);
        let scan = site.ok(&site.staff, &["scan", "--seconds", "3"]).await;
        assert!(scan.contains(&device), "{scan}");
        let unit = site.unit.clone();
        let paired = site
            .ok(
                &site.staff,
                &[
                    "pair",
                    "--unit",
                    &unit,
                    "--device",
                    &device,
                    "--code",
                    support::PAIRING_CODE,
                    "--name",
                    "Front door",
                ],
            )
            .await;
        assert!(paired.contains("Front door  paired"), "{paired}");
        site.lock = paired.split_whitespace().next().unwrap().to_string();
        site
    }

    /// `access` as `phone`, in a blocking thread.
    async fn cli(&self, phone: &Phone, args: &[&str]) -> Out {
        let (home, app) = (phone.home.path().to_path_buf(), phone.app);
        let (url, adapter) = (self.server.base_url(), self.rig.bluez.phone.clone());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&home, app, &url, &adapter, &args)
        })
        .await
        .unwrap()
    }

    async fn ok(&self, phone: &Phone, args: &[&str]) -> String {
        ok(args, self.cli(phone, args).await)
    }

    /// Invited on the web; registered with the CLI (invitation link from the mail, code
    /// from the SMS, both read from the outbox); synced.
    async fn register(&mut self, user_type: &str, email: &str, permissions: &[&str]) -> Phone {
        self.phones += 1;
        let phone_number = format!(
            "+1555{:07}",
            4_000_000 + self.phones + std::process::id() % 1000 * 100
        );
        let user_id = self
            .admin
            .invite(user_type, email, permissions, support::units(&[&self.unit]))
            .await;
        let phone = Phone {
            home: tempfile::tempdir().unwrap(),
            app: if user_type == "resident" {
                "resident"
            } else {
                "manager"
            },
            user_id,
        };
        let link = self.admin.invitation_link(email).await;
        let started = self
            .ok(
                &phone,
                &[
                    "register",
                    "--invitation",
                    &link,
                    "--email",
                    email,
                    "--phone",
                    &phone_number,
                    "--name",
                    &format!("Pat {email}"),
                    "--username",
                    &access_test_support::username_for(email),
                ],
            )
            .await;
        let registration = started.trim().to_string();
        let normalized = access_domain::normalize_phone(&phone_number).unwrap();
        let code = self.admin.sms_code(&normalized).await;
        self.ok(&phone, &["verify", &registration, &code]).await;
        self.ok(&phone, &["sync"]).await;
        phone
    }

    /// Someone types `digits` on the lock's keypad; the lock's outcome.
    fn keypad(&mut self, digits: &str) -> String {
        tokio::task::block_in_place(|| self.rig.keypad(digits))
    }

    async fn door(&self) -> Value {
        self.admin
            .get(&format!("/api/v1/locks/{}/door", self.lock))
            .await
    }

    async fn set_mode(&self, mode: &str) {
        self.admin
            .ok(
                Method::PUT,
                &format!("/api/v1/locks/{}/mode", self.lock),
                Some(json!({"mode": mode})),
            )
            .await;
    }

    /// A one-time code given on the web, for the phones to carry; its digits.
    async fn give_one_time(&self, label: &str) -> String {
        let given = self
            .admin
            .post(
                &format!("/api/v1/locks/{}/access-codes", self.lock),
                json!({"kind": "one_time", "label": label, "delivery": "ble"}),
            )
            .await;
        given["code"].as_str().expect("code").to_string()
    }

    async fn passcode_of(&self, user: &str) -> String {
        let d = self.admin.get(&format!("/api/v1/users/{user}")).await;
        d["passcodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["lock_id"] == self.lock.as_str())
            .unwrap_or_else(|| panic!("no passcode on {}: {d}", self.lock))["code"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// Pairing, then the web's changes reach the keypad through ordinary contacts: the master
/// code after pairing; a resident's passcode carried by the resident's own unlock (the
/// lock still in the mode pairing left, which keeps residents out: the update that admits
/// them goes first, then the unlock again); a one-time code given on the web after a staff
/// status read, once; a mode that keeps residents out; a revoked resident. The lock's
/// battery and last contact show on the web.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_contacts_bring_the_web_changes_to_the_keypad() {
    let mut s = Site::paired("a").await;

    // ---- 1. after pairing, the lock holds the platform's master code ----
    let master = s.admin.master_code(&s.lock).await;
    let k = s.keypad(&master);
    assert!(opened(&k), "the master code after pairing: {k}");
    let door = s.door().await;
    assert_eq!(door["in_step"], true, "{door}");
    assert_eq!(door["last_contact_app"], "Access Manager", "{door}");

    // ---- 2. a resident: mode and passcode set on the web, carried by their own unlock ----
    s.set_mode("resident").await;
    let resident = s.register("resident", "res-a@example.test", &[]).await;
    let passcode = s.passcode_of(&resident.user_id).await;
    let k = s.keypad(&passcode);
    assert!(!opened(&k), "not on the lock before any contact: {k}");
    assert_eq!(s.door().await["in_step"], false);
    s.ok(&resident, &["refresh-credentials"]).await;
    let unlocked = s.ok(&resident, &["unlock", "Front door"]).await;
    assert_eq!(unlocked.trim(), "unlocked");
    let k = s.keypad(&passcode);
    assert!(opened(&k), "the passcode after the resident's unlock: {k}");
    let door = s.door().await;
    assert_eq!(door["in_step"], true, "{door}");
    assert_eq!(door["last_contact_app"], "NoKey Resident", "{door}");

    // ---- 3. a one-time code given on the web: opens once after the next staff contact ----
    s.set_mode("maintenance").await;
    // (Every refused entry counts toward the keypad's lockout, 5 free: this test makes 4.)
    let one_time = s.give_one_time("Plumber").await;
    // The status printed is the lock's before the update (the user's command goes first).
    s.ok(&s.staff, &["status", "Front door"]).await;
    let k = s.keypad(&one_time);
    assert!(opened(&k), "the one-time code after the staff contact: {k}");
    let k = s.keypad(&one_time);
    assert!(!opened(&k), "a one-time code opens once: {k}");
    assert!(opened(&s.keypad(&passcode)), "residents in maintenance");

    // ---- 4. a mode that keeps residents out ----
    s.set_mode("vacant").await;
    assert!(opened(&s.keypad(&passcode)), "the lock has not heard yet");
    s.ok(&s.staff, &["unlock", "Front door"]).await;
    let k = s.keypad(&passcode);
    assert!(k.contains("ModeForbids"), "vacant keeps residents out: {k}");

    // ---- 5. the resident is revoked on the web ----
    s.set_mode("resident").await;
    s.ok(&s.staff, &["status", "Front door"]).await;
    assert!(opened(&s.keypad(&passcode)), "back in resident mode");
    s.admin.revoke(&resident.user_id).await;
    s.ok(&s.staff, &["status", "Front door"]).await;
    let k = s.keypad(&passcode);
    assert!(!opened(&k), "a revoked resident's passcode: {k}");
    assert!(opened(&s.keypad(&master)), "the master code still opens");

    // ---- 6. the lock's battery and last contact on the web ----
    let door = s.door().await;
    assert_eq!(door["in_step"], true, "{door}");
    assert_eq!(door["pending_codes"], 0, "{door}");
    assert_eq!(door["last_contact_app"], "Access Manager", "{door}");
    assert!(door["last_contact_at"].is_string(), "{door}");
    let battery = door["battery"].as_u64().expect("battery on the door");
    assert!(battery > 0 && battery <= 100, "{door}");
    let lock = s.admin.get(&format!("/api/v1/locks/{}", s.lock)).await;
    assert_eq!(lock["battery"].as_u64(), Some(battery), "{lock}");
    assert_eq!(lock["mode"], "resident");

    // ---- 7. the keypad's entries reach the server's log through ordinary contacts ----
    s.ok(&s.staff, &["status", "Front door"]).await;
    let logs = s.admin.get(&format!("/api/v1/locks/{}/logs", s.lock)).await;
    let items = logs["items"].as_array().expect("log items");
    let has = |what: &dyn Fn(&Value) -> bool| items.iter().any(what);
    assert!(
        has(&|e| e["method"] == "keypad"
            && e["action"] == "unlock"
            && e["user_id"] == resident.user_id.as_str()),
        "the resident's passcode at the keypad: {logs}"
    );
    assert!(
        has(&|e| e["action"] == "keypad_refused"),
        "the refused entries: {logs}"
    );
    assert!(
        has(&|e| e["method"] == "master_code"),
        "the master code: {logs}"
    );

    // ---- 8. a long backlog of the lock's log comes back in one contact, in few round trips ----
    let before = s.admin.lock_log(&s.lock).await.len();
    for _ in 0..250 {
        assert!(opened(&s.keypad(&master)));
    }
    let (code, _, err) = s.cli(&s.staff, &["-v", "status", "Front door"]).await;
    assert_eq!(code, 0, "{err}");
    let field = |key: &str| in_step_field(&err, key);
    // The status read, then the first page with the status, then the other two pages.
    assert!(field("round_trips") <= 3, "{err}");
    assert!(field("entries") >= 250, "{err}");
    assert!(
        s.admin.lock_log(&s.lock).await.len() >= before + 250,
        "every entry reached the server"
    );

    // ---- 9. a new phone reads only what the server lacks, not the whole log again ----
    let newcomer = s
        .register("team_member", "tech-new@example.test", &["view_logs"])
        .await;
    s.ok(&newcomer, &["refresh-credentials"]).await;
    let (code, _, err) = s.cli(&newcomer, &["-v", "status", "Front door"]).await;
    assert_eq!(code, 0, "{err}");
    let entries = in_step_field(&err, "entries");
    assert!(entries < 20, "the server had the rest: {err}");
    s.server.stop().await;
}

/// Offline: a staff phone that synced and cached the update carries it with the server
/// unreachable (the code given before opens at the keypad afterwards); the contact report
/// waits and reaches the server at the next `access sync` once the network is back, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_a_contact_carries_the_cached_update_and_the_report_follows_once() {
    let mut s = Site::paired("b").await;
    let one_time = s.give_one_time("Cleaner").await;
    s.ok(&s.staff, &["sync"]).await;
    s.ok(&s.staff, &["refresh-credentials"]).await;
    let platform = s
        .admin
        .get(&format!("/api/v1/locks/{}/door-update", s.lock))
        .await["version"]
        .as_u64()
        .unwrap();
    let before = s.door().await;
    assert_eq!(before["in_step"], false, "{before}");
    assert!(!opened(&s.keypad(&one_time)), "not on the lock yet");

    // ---- the network goes away ----
    s.server.stop().await;
    let unlocked = s.ok(&s.staff, &["unlock", "Front door"]).await;
    assert_eq!(unlocked.trim(), "unlocked");
    let k = s.keypad(&one_time);
    assert!(opened(&k), "the cached update was carried offline: {k}");
    let (code, _, err) = s.cli(&s.staff, &["sync"]).await;
    assert_eq!(code, 4, "sync offline: {err}");

    // ---- the network is back ----
    s.server.start_again().await;
    let waiting = s.door().await;
    assert_eq!(waiting["confirmed_version"], before["confirmed_version"]);
    assert_eq!(waiting["last_contact_at"], before["last_contact_at"]);
    // The server keeps contact times to the second: a report sent now shows as later.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    s.ok(&s.staff, &["sync"]).await;
    let reported = s.door().await;
    assert_eq!(reported["confirmed_version"], platform, "{reported}");
    assert_eq!(reported["in_step"], true, "{reported}");
    assert_eq!(reported["last_contact_app"], "Access Manager");
    assert_ne!(reported["last_contact_at"], before["last_contact_at"]);
    // Exactly once: nothing waits any more (a second report would show a later time).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    s.ok(&s.staff, &["sync"]).await;
    let uploaded = s.ok(&s.staff, &["upload-logs"]).await;
    assert!(uploaded.starts_with("0 "), "{uploaded}");
    assert_eq!(
        s.door().await["last_contact_at"],
        reported["last_contact_at"]
    );
    s.server.stop().await;
}

/// Crash safety of a contact: the staff phone killed (`kill -9`) at points all through
/// contacts that read a long log loses no entry and uploads none twice. After the kills, one
/// ordinary contact and the server holds every lock entry once, with no gap, and every
/// keypad entry typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_killed_mid_contact_loses_no_log_entry_and_uploads_none_twice() {
    let mut s = Site::paired("k").await;
    let master = s.admin.master_code(&s.lock).await;
    s.ok(&s.staff, &["status", "Front door"]).await;
    let mut typed = 0;
    for delay_ms in [30, 80, 140, 220, 320, 450] {
        for _ in 0..100 {
            assert!(opened(&s.keypad(&master)));
            typed += 1;
        }
        let home = s.staff.home.path().to_path_buf();
        let (url, adapter) = (s.server.base_url(), s.rig.bluez.phone.clone());
        tokio::task::spawn_blocking(move || {
            let mut child = Command::new(access_binary())
                .args(["--server", &url, "--app", "manager", "--home"])
                .arg(&home)
                .args(["status", "Front door"])
                .env("ACCESS_BLE_ADAPTER", &adapter)
                .env("ACCESS_PASSWORD", PASSWORD)
                .env("ACCESS_TIMEOUT_MS", "3000")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("access runs");
            std::thread::sleep(std::time::Duration::from_millis(delay_ms));
            // SIGKILL: nothing of the process gets to clean up.
            let _ = child.kill();
            child.wait().unwrap();
        })
        .await
        .unwrap();
    }
    s.ok(&s.staff, &["status", "Front door"]).await;
    s.ok(&s.staff, &["sync"]).await;
    let log = s.admin.lock_log(&s.lock).await;
    let mut seqs: Vec<u64> = log.iter().filter_map(|e| e["lock_seq"].as_u64()).collect();
    assert_eq!(
        seqs.len(),
        log.len(),
        "every lock entry has its sequence number"
    );
    seqs.sort_unstable();
    let n = seqs.len();
    seqs.dedup();
    assert_eq!(seqs.len(), n, "no entry twice");
    let (first, last) = (seqs[0], seqs[n - 1]);
    assert_eq!(
        last - first + 1,
        n as u64,
        "no gap between {first} and {last}"
    );
    let keypad = log.iter().filter(|e| e["method"] == "master_code").count();
    assert_eq!(keypad, typed, "every keypad entry typed reached the server");
}

/// Access with dates, at the door: a resident's move-out set on the web a few seconds ahead.
/// Before it their passcode opens at the keypad; after it, with nobody acting on the
/// platform, the lock itself refuses it (the passcode carries the dates as its window), the
/// next ordinary contact (a staff status read) takes it off the lock, and the resident's
/// phone refuses to unlock with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_out_residents_passcode_stops_at_the_end_with_nobody_acting() {
    use time::format_description::well_known::Rfc3339;
    let mut s = Site::paired("c").await;
    s.set_mode("resident").await;
    let resident = s.register("resident", "res-c@example.test", &[]).await;
    let passcode = s.passcode_of(&resident.user_id).await;

    // ---- the move-out, set on the web ----
    let lead = std::time::Duration::from_secs(45);
    let end = time::OffsetDateTime::now_utc() + lead;
    let end = end.replace_nanosecond(0).unwrap();
    s.admin
        .ok(
            Method::PUT,
            &format!("/api/v1/users/{}/period", resident.user_id),
            Some(json!({"period": {"ends_at": end.format(&Rfc3339).unwrap()}})),
        )
        .await;
    s.ok(&resident, &["sync"]).await;
    s.ok(&resident, &["refresh-credentials"]).await;
    let unlocked = s.ok(&resident, &["unlock", "Front door"]).await;
    assert_eq!(unlocked.trim(), "unlocked");
    let k = s.keypad(&passcode);
    assert!(
        time::OffsetDateTime::now_utc() < end,
        "the steps before the end took longer than {lead:?}"
    );
    assert!(opened(&k), "before the end the passcode opens: {k}");

    // ---- the end passes; nobody touches the platform ----
    let left = end - time::OffsetDateTime::now_utc();
    tokio::time::sleep(std::time::Duration::try_from(left).unwrap_or_default()).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let k = s.keypad(&passcode);
    assert!(
        k.contains("CodeNotValidNow"),
        "the lock refuses it on its own clock: {k}"
    );
    // The next ordinary contact carries the update that takes the passcode away.
    s.ok(&s.staff, &["status", "Front door"]).await;
    let k = s.keypad(&passcode);
    assert!(
        k.contains("WrongCode"),
        "after the contact the passcode is no longer on the lock: {k}"
    );
    // The resident's phone refuses on its own, with the reason.
    let (code, out, err) = s.cli(&resident, &["unlock", "Front door"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("Your access ended on"), "{err}");
    assert!(opened(&s.keypad(&s.admin.master_code(&s.lock).await)));
    s.server.stop().await;
}
