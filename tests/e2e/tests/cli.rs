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
