//! Delivery through real transports: invitations over SMTP to a local aiosmtpd sink, SMS
//! POSTed to a webhook receiver run by the test. Everything is also in the outbox.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// aiosmtpd writing every message into a Maildir.
struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn smtp_sink() -> SmtpSink {
    let installed = Command::new("python3")
        .args(["-m", "pip", "show", "aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        installed,
        "the SMTP test needs aiosmtpd: run `python3 -m pip install aiosmtpd` (scripts/test does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(dir.path().join("maildir"))
        .stdout(Stdio::null())
        .spawn()
        .expect("start aiosmtpd");
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "aiosmtpd did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    SmtpSink { child, port, dir }
}

/// The messages in the Maildir, decoded by Python's email package: [{to, subject, body}].
fn received(dir: &Path) -> Vec<Value> {
    let script = r#"
import email, email.policy, json, mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False)
out = []
for key in sorted(box.keys()):
    m = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
    out.append({"to": str(m["To"]), "from": str(m["From"]), "subject": str(m["Subject"]),
                "body": m.get_body(preferencelist=("plain",)).get_content()})
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(dir.join("maildir"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Fails if any file under `dir` (the database, its WAL, ...) contains one of `secrets`.
fn assert_no_file_holds(dir: &Path, secrets: &[&str]) {
    let mut files = 0;
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap();
        files += 1;
        for s in secrets {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{} holds the secret {s}",
                entry.display()
            );
        }
    }
    assert!(files > 0, "no database file under {}", dir.display());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// An SMS gateway stand-in: records each JSON body POSTed to `/sms`.
async fn sms_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let g = g.clone();
            async move {
                g.lock().unwrap().push(v);
                StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/sms"), got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_go_over_smtp_and_codes_to_the_sms_gateway() {
    let sink = smtp_sink();
    let (sms_url, sms) = sms_receiver().await;
    let smtp_url = format!("smtp://127.0.0.1:{}", sink.port);
    let t = common::start_with(|c| {
        c.smtp_url = Some(smtp_url);
        c.sms_webhook_url = Some(sms_url);
        c.public_url = "https://access.example.test/".into();
    })
    .await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Mail", &["1"]).await;
    api.invite(&admin, json!({"user_type": "team_member", "email": "tm@mail.example",
                              "permissions": ["view_logs"], "access": {"type": "units", "unit_ids": [units[0]]}}))
        .await;
    api.invite(
        &admin,
        json!({"user_type": "resident", "email": "res@mail.example",
                              "access": {"type": "units", "unit_ids": [units[0]]}}),
    )
    .await;
    let mails = received(sink.dir.path());
    assert_eq!(mails.len(), 2, "{mails:?}");
    let tm = mails
        .iter()
        .find(|m| m["to"] == "tm@mail.example")
        .expect("team member mail");
    let res = mails
        .iter()
        .find(|m| m["to"] == "res@mail.example")
        .expect("resident mail");
    assert!(
        tm["subject"].as_str().unwrap().contains("Access Manager"),
        "{tm}"
    );
    assert!(tm["body"].as_str().unwrap().contains("Access Manager"));
    assert!(
        res["subject"].as_str().unwrap().contains("NoKey Resident"),
        "{res}"
    );
    assert!(!res["body"].as_str().unwrap().contains("Access Manager"));
    let body = tm["body"].as_str().unwrap();
    assert!(
        body.contains("https://access.example.test/invite/access-manager?token="),
        "{body}"
    );
    // Each app claims only its own links; the mail also carries the code to type.
    let res_body = res["body"].as_str().unwrap();
    assert!(
        res_body.contains("https://access.example.test/invite/nokey-resident?token="),
        "{res_body}"
    );
    assert!(
        res_body.contains("enter this invitation code"),
        "{res_body}"
    );
    // The link from the real mail registers; the code from the real SMS verifies. The
    // outbox keeps the mail without the live token.
    let token = common::token_in(body).unwrap();
    let kept = api.last_message_to(&admin, "tm@mail.example").await;
    let kept = kept["body"].as_str().unwrap();
    assert!(!kept.contains(&token), "{kept}");
    assert!(kept.contains("token=[sent, not kept]"), "{kept}");
    let r = api
        .call(
            Method::POST,
            "/api/v1/registrations",
            None,
            Some(
                json!({"token": token, "email": "tm.home@mail.example", "phone": "+1 555 444 3322",
                          "password": "password-1", "name": "Tess"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let got = sms.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["to"], "+15554443322");
    let code = common::six_digits(got[0]["body"].as_str().unwrap()).expect("code in SMS");
    assert!(got[0]["body"].as_str().unwrap().contains("Access Manager"));
    let id = r.body["registration_id"].as_str().unwrap();
    let v = api
        .call(
            Method::POST,
            &format!("/api/v1/registrations/{id}/verify"),
            None,
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{:?}", v.body);
    let kept = api.last_message_to(&admin, "+15554443322").await;
    assert!(!kept["body"].as_str().unwrap().contains(&code), "{kept}");
    // A copy of the database holds neither live secret.
    if std::env::var_os("ACCESS_TEST_DATABASE_URL").is_none() {
        assert_no_file_holds(t.dir.path(), &[&token, &code]);
    }
    // The outbox holds all three, newest first.
    let out = api.get("/api/v1/outbox", &admin).await;
    let channels: Vec<_> = out.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["channel"].clone())
        .collect();
    assert_eq!(channels, vec![json!("sms"), json!("email"), json!("email")]);

    // A password reset: the link by mail, the code by SMS, neither kept in the database.
    let a = api
        .call(
            Method::POST,
            "/api/v1/auth/password-reset",
            None,
            Some(json!({"email": "tm.home@mail.example"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    let deadline = Instant::now() + Duration::from_secs(10);
    let (link_token, sms_code) = loop {
        let mails = received(sink.dir.path());
        let texts = sms.lock().unwrap().clone();
        if let (Some(m), Some(t)) = (
            mails.iter().find(|m| m["to"] == "tm.home@mail.example"),
            texts.iter().find(|t| {
                t["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("password reset"))
            }),
        ) {
            let body = m["body"].as_str().unwrap();
            assert!(
                body.contains("https://access.example.test/reset-password?token="),
                "{body}"
            );
            break (
                common::token_in(body).unwrap(),
                common::six_digits(t["body"].as_str().unwrap()).unwrap(),
            );
        }
        assert!(
            Instant::now() < deadline,
            "no reset mail and SMS: {mails:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if std::env::var_os("ACCESS_TEST_DATABASE_URL").is_none() {
        assert_no_file_holds(t.dir.path(), &[&link_token, &sms_code]);
    }
    let done = api
        .call(
            Method::POST,
            "/api/v1/auth/password-reset/confirm",
            None,
            Some(json!({"token": link_token, "sms_code": sms_code, "new_password": "password-2"})),
        )
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{:?}", done.body);
    api.login("tm.home@mail.example", "password-2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_smtp_server_still_leaves_the_invitation_in_the_outbox() {
    let port = free_port();
    let t = common::start_with(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, units) = api.property(&admin, "Down", &["1"]).await;
    api.invite(
        &admin,
        json!({"user_type": "resident", "email": "down@mail.example",
                              "access": {"type": "units", "unit_ids": [units[0]]}}),
    )
    .await;
    // Recorded as failed, without the live link: the fix is Resend, which sends a new one.
    let m = api.last_message_to(&admin, "down@mail.example").await;
    assert_eq!(m["delivery"], "failed", "{m}");
    assert!(
        m["body"]
            .as_str()
            .unwrap()
            .contains("token=[sent, not kept]")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_the_database_holds_no_password_or_session_token() {
    if std::env::var_os("ACCESS_TEST_DATABASE_URL").is_some() {
        return; // the files checked are SQLite's; PostgreSQL stores the same columns
    }
    let t = common::start().await;
    let api = &t.api;
    let admin = api.admin().await;
    let (_, member) = api
        .team_member(
            &admin,
            "copy@mail.example",
            json!(["view_logs"]),
            json!({"type": "all_locks"}),
        )
        .await;
    assert_no_file_holds(
        t.dir.path(),
        &[
            &admin,
            &member,
            access_server::config::TEST_ADMIN_PASSWORD,
            "password-123",
        ],
    );
}
