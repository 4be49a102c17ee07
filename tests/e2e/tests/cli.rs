//! The `access` command-line client's lock commands through btleplug and BlueZoo against the
//! `virtual-lock` binary and the real server: scan, a wrong pairing code (its exit code),
//! pair, unlock, mode, status, bring-in-line, log read.

mod rig;
mod support;

use std::path::Path;
use std::process::Command;

use rig::{BluezooRig, access_binary};

/// Runs `access` with `args`; returns (exit code, stdout, stderr).
fn access(home: &Path, server: &str, adapter: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(access_binary())
        .args(["--server", server, "--home"])
        .arg(home)
        .args(args)
        .env("ACCESS_BLE_ADAPTER", adapter)
        .env("ACCESS_PASSWORD", "pw-123456789")
        .output()
        .expect("access runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_scans_pairs_and_opens_a_lock() {
    let rig = BluezooRig::start(0).await;
    let (server, admin, unit) = support::site().await;
    let url = server.base_url();
    let transport = support::Rig::transport(&rig);
    let all = ["reset_codes", "change_modes", "view_logs"];
    // Registered through the core; the CLI signs in with the same account.
    let _tech = support::onboard(
        &admin,
        &url,
        "team_member",
        "cli@example.test",
        &all,
        &unit,
        &transport,
    )
    .await;
    let home = tempfile::tempdir().unwrap();
    let adapter = rig.bluez.phone.clone();
    let run = |args: &[&str]| access(home.path(), &url, &adapter, args);
    let ok = |(code, out, err): (i32, String, String)| {
        assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
        out
    };
    tokio::task::block_in_place(|| {
        ok(run(&["login", "--email", "cli@example.test"]));
        ok(run(&["sync"]));
        let device = support::Rig::device_id(&rig);
        let scan = ok(run(&["scan", "--seconds", "3"]));
        assert!(
            scan.lines()
                .any(|l| l.starts_with(&device) && l.contains("fresh")),
            "{scan}"
        );
        let (code, _, err) = run(&[
            "pair",
            "--unit",
            &unit,
            "--device",
            &device,
            "--code",
            "1111111111",
            "--name",
            "Side door",
        ]);
        assert_eq!(code, 9, "wrong pairing code: {err}");
        assert!(err.contains("Wrong pairing code"), "{err}");
        let paired = ok(run(&[
            "pair",
            "--unit",
            &unit,
            "--device",
            &device,
            "--code",
            support::PAIRING_CODE,
            "--name",
            "Side door",
        ]));
        assert!(paired.contains("Side door  paired"), "{paired}");
        ok(run(&["sync"]));
        assert!(ok(run(&["ble-mode", "Side door", "tour"])).contains("tour"));
        assert_eq!(ok(run(&["unlock", "Side door"])).trim(), "unlocked");
        let status = ok(run(&["status", "Side door"]));
        assert!(
            status.contains("mode:     tour") && status.contains("bolt:     unlocked"),
            "{status}"
        );
        let in_line = ok(run(&["bring-in-line", "Side door"]));
        assert!(in_line.contains("name:     Side door"), "{in_line}");
        let log = ok(run(&["read-log", "Side door"]));
        assert!(log.starts_with("read "), "{log}");
        assert!(log.contains("0 waiting"), "{log}");
    });
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_registers_with_a_username_and_resets_a_forgotten_password() {
    let (server, admin, unit) = support::site().await;
    let url = server.base_url();
    admin
        .invite(
            "team_member",
            "ren@example.test",
            &["view_logs"],
            support::units(&[&unit]),
        )
        .await;
    let link = admin.invitation_link("ren@example.test").await;
    let home = tempfile::tempdir().unwrap();
    // No Bluetooth here: the adapter is never opened by account commands.
    let run = |args: &[&str]| access(home.path(), &url, "hci-none", args);
    let (code, _, err) = tokio::task::block_in_place(|| {
        run(&[
            "register",
            "--invitation",
            &link,
            "--email",
            "ren@example.test",
            "--phone",
            "+1 555 310 4242",
            "--name",
            "Ren",
            "--username",
            "x",
        ])
    });
    assert_ne!(
        code, 0,
        "a one-letter username is refused before any request"
    );
    assert!(err.contains("3 to 32"), "{err}");
    let (code, reg, err) = tokio::task::block_in_place(|| {
        run(&[
            "register",
            "--invitation",
            &link,
            "--email",
            "ren@example.test",
            "--phone",
            "+1 555 310 4242",
            "--name",
            "Ren",
            "--username",
            "Ren.Tech",
        ])
    });
    assert_eq!(code, 0, "{err}");
    let sms = admin.sms_code("+15553104242").await;
    let (code, who, err) = tokio::task::block_in_place(|| run(&["verify", reg.trim(), &sms]));
    assert_eq!(code, 0, "{err}");
    assert!(who.contains("Ren <ren@example.test>"), "{who}");
    let users = admin.get("/api/v1/users?q=ren.tech").await;
    assert_eq!(users["items"][0]["username"], "ren.tech", "{users}");

    let (code, said, err) =
        tokio::task::block_in_place(|| run(&["forgot-password", "ren@example.test"]));
    assert_eq!(code, 0, "{err}");
    assert!(!said.trim().is_empty());
    let reset_link = admin.invitation_link("ren@example.test").await;
    assert!(reset_link.contains("reset"), "{reset_link}");
    let reset_code = admin.sms_code("+15553104242").await;
    let new_password = |args: &[&str]| {
        let out = Command::new(access_binary())
            .args(["--server", &url, "--home"])
            .arg(home.path())
            .args(args)
            .env("ACCESS_PASSWORD", "a-new-pass-2026")
            .output()
            .expect("access runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = tokio::task::block_in_place(|| {
        new_password(&["reset-password", &reset_link, "--code", "000000"])
    });
    assert_ne!(code, 0, "a wrong SMS code is refused");
    assert!(!err.is_empty());
    let (code, err) = tokio::task::block_in_place(|| {
        new_password(&["reset-password", &reset_link, "--code", &reset_code])
    });
    assert_eq!(code, 0, "{err}");
    let (code, _) = tokio::task::block_in_place(|| {
        new_password(&["reset-password", &reset_link, "--code", &reset_code])
    });
    assert_ne!(code, 0, "a used reset link is refused");
    // The old password no longer signs in; the new one does.
    let (code, _, _) =
        tokio::task::block_in_place(|| run(&["login", "--email", "ren@example.test"]));
    assert_ne!(code, 0, "the old password is refused");
    let (code, err) =
        tokio::task::block_in_place(|| new_password(&["login", "--email", "ren@example.test"]));
    assert_eq!(code, 0, "{err}");
}
